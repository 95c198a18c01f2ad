// Istio's own analyzers as a second opinion on the mesh: `istioctl analyze --use-kube=false` over the
// mesh objects of every stack (both environments) and the workloads they select finds nothing, and
// planted mistakes are flagged, naming the object.
import { existsSync } from "node:fs";
import { analyzeObjects, defaultIstioctl, meshObjects } from "../../../tools/ci/istio-analyze";
import type { TerraformJson } from "../../../policy-engine/input";
import type { ApiObject } from "../../../policy-engine/typed-kubernetes";
import { stackIds } from "../../../stacks";
import { synthAll } from "../../../harness/synth";
import { describeWithService } from "../../support/services";

const objectsOf = async (env: string) => {
  const stacks = await synthAll(env);
  return meshObjects(stackIds.map((id) => [id, stacks[id] as TerraformJson]));
};
const missing = existsSync(defaultIstioctl) ? undefined : "istioctl (tools/install/tools.sh istioctl)";

describeWithService("istioctl analyze over the synthesized mesh", missing, () => {
  test.each(["staging", "production"])(
    "%s: no message from any analyzer",
    async (env) => {
      const objects = await objectsOf(env);
      expect(objects.filter((o) => o.apiVersion.includes("istio.io")).length).toBeGreaterThanOrEqual(10);
      expect(await analyzeObjects(objects)).toEqual([]);
    },
    120_000,
  );

  test("planted mistakes are flagged, naming the object: a route through a gateway no stack creates, a misspelt mTLS mode", async () => {
    const planted: ApiObject[] = [
      {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: "planted-route", namespace: "maestro" },
        spec: {
          hosts: ["compliance.maestro.svc.cluster.local"],
          gateways: ["maestro-gateway/no-such-gateway"],
          http: [{ route: [{ destination: { host: "compliance.maestro.svc.cluster.local" } }] }],
        },
      },
      {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: { name: "planted-mtls", namespace: "maestro" },
        spec: { mtls: { mode: "STRICTLY" } },
      },
    ];
    const findings = await analyzeObjects([...(await objectsOf("staging")), ...planted]);
    const lines = findings.map((f) => `${f.level} ${f.code} ${f.origin}: ${f.message}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Error IST0101 VirtualService maestro\/planted-route: Referenced gateway not found/),
        expect.stringMatching(/^Error UNREADABLE PeerAuthentication maestro\/planted-mtls: .*unknown value .*STRICTLY/),
      ]),
    );
    expect(findings.filter((f) => !/planted-/.test(f.origin))).toEqual([]);
  }, 120_000);
});
