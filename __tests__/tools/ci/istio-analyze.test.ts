// Istio's own analyzers as a second opinion on the mesh: `istioctl analyze --use-kube=false` over the
// mesh objects of every stack (both environments) and the workloads they select finds nothing, and
// a planted broken reference is flagged, naming the object.
import { analyzeObjects, defaultIstioctl, meshObjects } from "../../../tools/ci/istio-analyze";
import type { TerraformJson } from "../../../policy-engine/input";
import type { ApiObject } from "../../../policy-engine/typed-kubernetes";
import { stackIds } from "../../../stacks";
import { synthAll } from "../../../harness/synth";
import { describeWithService } from "../../support/services";
import { existsSync } from "node:fs";

const objectsOf = async (env: string) => {
  const stacks = await synthAll(env);
  return meshObjects(stackIds.map((id) => [id, stacks[id] as TerraformJson]));
};

describeWithService(
  "istioctl analyze over the synthesized mesh",
  existsSync(defaultIstioctl) ? undefined : "istioctl (tools/install/tools.sh istioctl)",
  () => {
    test.each(["staging", "production"])(
      "%s: no message from any analyzer",
      async (env) => {
        const objects = await objectsOf(env);
        expect(objects.filter((o) => o.apiVersion.includes("istio.io")).length).toBeGreaterThanOrEqual(10);
        expect(await analyzeObjects(objects)).toEqual([]);
      },
      120_000,
    );

    test("a planted reference to a namespace and a host that no stack creates is flagged", async () => {
      const objects = await objectsOf("staging");
      const planted: ApiObject[] = [
        {
          apiVersion: "networking.istio.io/v1",
          kind: "VirtualService",
          metadata: { name: "planted-route", namespace: "maestro" },
          spec: {
            hosts: ["compliance.maestro.svc.cluster.local"],
            http: [{ route: [{ destination: { host: "ghost.maestro.svc.cluster.local" } }] }],
          },
        },
        {
          apiVersion: "security.istio.io/v1",
          kind: "AuthorizationPolicy",
          metadata: { name: "planted-allow", namespace: "maestro" },
          spec: { action: "ALLOW", rules: [{ from: [{ source: { namespaces: ["ghost-namespace"] } }] }] },
        },
      ];
      const findings = await analyzeObjects([...objects, ...planted]);
      console.log(
        `istioctl analyze on the planted objects:\n${findings.map((f) => `  ${f.level} ${f.code} ${f.origin}: ${f.message}`).join("\n")}`,
      );
      expect(findings.map((f) => f.origin).join("\n")).toMatch(/planted-route/);
      expect(findings.map((f) => f.origin).join("\n")).toMatch(/planted-allow/);
      expect(findings.every((f) => /planted-/.test(f.origin))).toBe(true);
    }, 120_000);
  },
);
