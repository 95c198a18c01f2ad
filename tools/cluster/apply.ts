// Sending objects to the local control plane the way the Terraform provider does, and the CRDs
// the platform stack's charts install. Used by the cluster suite and `npm run cluster:apply`.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { ApiObject } from "../../policy-engine/typed-kubernetes";
import { toolsDir, type ControlPlane } from "./control-plane";
import { lostFields, type StackObject } from "./stack-objects";

/** The CRD files tools/install/tools.sh cluster copies from Go modules, one folder per source. */
export const crdDir = join(toolsDir, "share", "crds");

export type StoredObject = ApiObject & { status?: Record<string, unknown> };

/** `Kind namespace/name`: how objects are matched between what was sent and what was stored. */
export const objectKey = (o: { kind: string; metadata: { name?: string; namespace?: string } }) =>
  `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;

/** Applies the Istio and Argo Rollouts CRDs and waits until the API server serves them. */
export async function applyCrds(cluster: ControlPlane): Promise<string[]> {
  if (!existsSync(join(crdDir, ".version"))) throw new Error(`cluster: no CRDs in ${crdDir} (run tools/install/tools.sh cluster)`);
  const sources = readdirSync(crdDir).filter((d) => !d.startsWith("."));
  for (const source of sources) {
    await cluster.kubectl(["apply", "--server-side", "--field-manager=maestro-harness", "-f", join(crdDir, source)]);
  }
  await cluster.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"]);
  return sources;
}

/**
 * Sends objects as the provider would: `kubernetes_manifest` by server-side apply with field
 * manager "Terraform"; typed resources by a create (the provider's typed resources create), or,
 * with `typed: "apply"`, by server-side apply too (so a person can re-run it). Strict field
 * validation throughout. `dryRun` asks the server to validate and default everything without
 * storing anything (server-side apply for all, so objects that exist are fine). Returns the
 * server's stored (or would-be stored) object of each, by objectKey.
 */
export async function sendObjects(
  cluster: Pick<ControlPlane, "kubectl">,
  objects: StackObject[],
  options: { typed?: "create" | "apply"; dryRun?: boolean } = {},
): Promise<Map<string, StoredObject>> {
  const stored = new Map<string, StoredObject>();
  const dryRun = options.dryRun ? ["--dry-run=server"] : [];
  for (const via of ["typed", "manifest"] as const) {
    const batch = objects.filter((o) => o.via === via).map((o) => o.object);
    if (batch.length === 0) continue;
    // The typed resources are created and then patched by the provider, never server-side applied:
    // they own no fields, so where a controller owns one (the Rollouts controller the active
    // Service's selector, which the stack ignores), their dry run takes it, as their patch would.
    const force = via === "typed" && options.dryRun ? ["--force-conflicts"] : [];
    const ssa = ["apply", "--server-side", "--field-manager=Terraform", "--validate=strict", ...force, ...dryRun, "-f", "-"];
    const args = via === "manifest" || options.typed === "apply" || options.dryRun ? ssa : ["create", "--validate=strict", "-f", "-"];
    // kubectl prints one YAML document per object it wrote: the server's stored object.
    const out = await cluster.kubectl([...args, "-o", "yaml"], JSON.stringify({ apiVersion: "v1", kind: "List", items: batch }));
    for (const doc of parseAllDocuments(out)) {
      const o = doc.toJS() as StoredObject & { items?: StoredObject[] };
      for (const item of o.kind === "List" ? (o.items ?? []) : [o]) stored.set(objectKey(item), item);
    }
  }
  return stored;
}

/** Each object the server did not return, and each field we set that it pruned or changed: empty when all were kept. */
export function appliedProblems(objects: StackObject[], stored: Map<string, StoredObject>): string[] {
  return objects.flatMap((o) => {
    const back = stored.get(objectKey(o.object));
    if (!back) return [`${o.address}: not in the server's answer`];
    return lostFields(o.object, back).map((p) => `${o.address} (${objectKey(o.object)}) ${p}`);
  });
}
