// Every Kubernetes object of a synthesized stack, as the Terraform kubernetes provider would send
// it: `kubernetes_manifest` verbatim (server-side apply, field manager "Terraform"), typed
// `kubernetes_*_v1` resources through the one converter (a create, as the provider's typed
// resources do). Terraform strings are evaluated first (terraform-strings.ts).
import { typedBase, typedKinds, typedResourceToObject, type ApiObject } from "../../policy-engine/typed-kubernetes";
import type { TerraformJson } from "../../policy-engine/input";
import { evaluateStrings, TemplateError } from "./terraform-strings";

export interface StackObject {
  /** Terraform address, e.g. `kubernetes_config_map_v1.postgres_walg-env_481FE7BB`. */
  address: string;
  /** `manifest` (server-side apply) or `typed` (create). */
  via: "manifest" | "typed";
  object: ApiObject;
}

/** Terraform resource types that carry Kubernetes objects but that this module does not know. */
export function unknownKubernetesTypes(tf: TerraformJson): string[] {
  return Object.keys(tf.resource ?? {}).filter((type) => {
    if (!type.startsWith("kubernetes_") || type === "kubernetes_manifest") return false;
    const base = typedBase(type);
    return !base || !typedKinds[base];
  });
}

/**
 * The stack's objects in the order of the file (cdktf writes them by construct path), and the
 * template errors of those whose strings Terraform could not take literally (never sent).
 */
export function stackObjects(tf: TerraformJson): { objects: StackObject[]; templateErrors: TemplateError[] } {
  const resources = tf.resource ?? {};
  const objects: StackObject[] = [];
  const templateErrors: TemplateError[] = [];
  for (const [type, byName] of Object.entries(resources)) {
    for (const [name, values] of Object.entries(byName)) {
      const address = `${type}.${name}`;
      const via = type === "kubernetes_manifest" ? "manifest" : "typed";
      const object = via === "manifest" ? (values.manifest as ApiObject | undefined) : typedResourceToObject(type, values);
      if (!object) continue;
      try {
        objects.push({ address, via, object: evaluateStrings(object, resources, address, via === "manifest" ? "manifest" : "") });
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        templateErrors.push(err);
      }
    }
  }
  return { objects, templateErrors };
}

/** Where `sent` differs from what the server returned: each path we set that is missing or changed. */
export function lostFields(sent: unknown, stored: unknown, path = ""): string[] {
  if (Array.isArray(sent)) {
    // An empty list is no list in the API (Go's omitempty): nothing was lost.
    if (sent.length === 0 && stored === undefined) return [];
    if (!Array.isArray(stored)) return [`${path}: sent a list, stored ${JSON.stringify(stored)}`];
    if (stored.length !== sent.length) return [`${path}: sent ${sent.length} items, stored ${stored.length}`];
    return sent.flatMap((v, i) => lostFields(v, stored[i], `${path}[${i}]`));
  }
  if (sent !== null && typeof sent === "object") {
    if (stored === null || typeof stored !== "object" || Array.isArray(stored))
      return [`${path}: sent an object, stored ${JSON.stringify(stored)}`];
    return Object.entries(sent as Record<string, unknown>).flatMap(([k, v]) =>
      lostFields(v, (stored as Record<string, unknown>)[k], path ? `${path}.${k}` : k),
    );
  }
  if (sent === stored) return [];
  return [`${path}: sent ${JSON.stringify(sent)}, stored ${stored === undefined ? "nothing (pruned)" : JSON.stringify(stored)}`];
}
