import { evaluateStrings, evaluateTemplate, knownAfterApply, TemplateError } from "../../../tools/cluster/terraform-strings";

const resources = {
  kubernetes_config_map_v1: { env: { metadata: { name: "walg-env", namespace: "data" }, data: { A: "1" } } },
  aws_iam_role: { writer: { name: "writer" } },
};

test("a reference to an attribute the stack sets is read from the stack (metadata[0] is cdktf's single block)", () => {
  expect(evaluateTemplate("${kubernetes_config_map_v1.env.metadata[0].name}", resources, "a", "p")).toBe("walg-env");
  expect(evaluateTemplate("role ${aws_iam_role.writer.name}!", resources, "a", "p")).toBe("role writer!");
});

test("an attribute only the cloud knows becomes a marked stand-in", () => {
  expect(evaluateTemplate("${aws_iam_role.writer.arn}", resources, "a", "p")).toBe(knownAfterApply("aws_iam_role.writer.arn"));
  expect(evaluateTemplate("${data.aws_caller_identity.me.account_id}", resources, "a", "p")).toBe(
    knownAfterApply("data.aws_caller_identity.me.account_id"),
  );
  // A cross-stack reference: cdktf's remote-state output names hold "-".
  const crossStack =
    "data.terraform_remote_state.cross-stack-reference-input-audit.outputs.cross-stack-output-aws_iam_rolerole_AE7266D5arn";
  expect(evaluateTemplate(`\${${crossStack}}`, resources, "a", "p")).toBe(knownAfterApply(crossStack));
});

test("escapes are unescaped: $${ and %%{ are literal", () => {
  expect(evaluateTemplate('echo "$${HOME:-/root}" %%{x}', resources, "a", "p")).toBe('echo "${HOME:-/root}" %{x}');
});

test("a shell expansion left unescaped is refused, naming resource, path and expression", () => {
  const run = () => evaluateStrings({ data: { "pitr.sh": 'dir="${TMPDIR:-/tmp}"' } }, resources, "kubernetes_config_map_v1.pitr", "");
  expect(run).toThrow(TemplateError);
  expect(run).toThrow("kubernetes_config_map_v1.pitr data.pitr.sh: `${TMPDIR:-/tmp}` is a Terraform template expression");
  expect(() => evaluateTemplate("%{ if true }x%{ endif }", resources, "a", "p")).toThrow(TemplateError);
  expect(() => evaluateTemplate("${kubernetes_config_map_v1.missing.metadata[0].name}", resources, "a", "p")).toThrow(TemplateError);
});
