// Every stack read by OpenTofu's own parser (the pinned `tofu` from tools/install/tools.sh): each
// string of each resource and output is parsed as the template Terraform will read at plan time.
import { fromTerraformLiteral } from "../../constructs/terraform/literal";
import { checkStack, defaultTofu } from "../../tools/ci/tofu-check";
import { describeWithService } from "../support/services";
import { findBinary } from "../../harness/binaries";
import { synthAll, type StackJson } from "../../harness/synth";

const tofu = findBinary("tofu");
const missing = tofu ? undefined : `OpenTofu (${defaultTofu}; bash tools/install/tools.sh tofu)`;

describeWithService("OpenTofu parses every string of every stack", missing, () => {
  test.each(["staging", "production"])("%s: every stack parses, with no error", async (env) => {
    const stacks = await synthAll(env);
    for (const [name, json] of Object.entries(stacks)) {
      const result = await checkStack(name, json as never, tofu);
      expect({ stack: name, findings: result.findings }).toEqual({ stack: name, findings: [] });
      expect(result.strings).toBeGreaterThan(10);
    }
  });

  test("negative control: pitr.sh embedded without escaping fails as it did before the fix", async () => {
    const backup = structuredClone((await synthAll("staging")).backup) as StackJson;
    const configMaps = (backup.resource as Record<string, Record<string, { data?: Record<string, string> }>>)["kubernetes_config_map_v1"];
    const [name, cm] = Object.entries(configMaps).find(([, r]) => r.data?.["pitr.sh"])!;
    cm.data!["pitr.sh"] = fromTerraformLiteral(cm.data!["pitr.sh"]);
    const { findings } = await checkStack("backup", backup as never, tofu);
    expect(findings.map((f) => f.address)).toContain(`resource.kubernetes_config_map_v1.${name}`);
    expect(findings.map((f) => f.summary)).toContain("Extra characters after interpolation expression");
  });

  test("a reference to a resource the stack does not declare is an error", async () => {
    const stack = {
      resource: { terraform_data: { a: { input: "${aws_s3_bucket.nowhere.id}" } } },
      output: { ok: { value: "${terraform_data.a.id}" } },
    };
    const { findings } = await checkStack("x", stack as never, tofu);
    expect(findings).toEqual([
      expect.objectContaining({ address: "resource.terraform_data.a", summary: "Reference to undeclared resource" }),
    ]);
  });
});
