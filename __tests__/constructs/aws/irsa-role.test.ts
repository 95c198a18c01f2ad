// IrsaRole, the one IRSA role construct (the audit stack's compliance-service role and WAL-G's
// writer and restore roles): who may assume it, and props refused with the prop named.
import { Testing, TerraformOutput, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { IrsaRole, type IrsaRoleProps } from "../../../constructs/aws/irsa-role";
import { resourcesOf, type StackJson } from "../../../harness/synth";

const oidcProvider = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE";
const base: Omit<IrsaRoleProps, "aws"> = {
  roleName: "shop-orders",
  accountId: "123456789012",
  oidcProvider,
  namespace: "shop",
  serviceAccounts: ["orders"],
};

function build(props: Partial<IrsaRoleProps> = {}): { role: IrsaRole; json: StackJson } {
  const stack = new TerraformStack(Testing.app(), "t");
  const aws = new AwsProvider(stack, "aws", { region: "eu-west-1" });
  const role = new IrsaRole(stack, "orders-role", { aws, ...base, ...props });
  new TerraformOutput(stack, "arn", { value: role.arn });
  new TerraformOutput(stack, "name", { value: role.name });
  return { role, json: JSON.parse(Testing.synth(stack)) as StackJson };
}

test("trusted only by the cluster's OIDC provider, for exactly the listed service accounts of one namespace, audience sts", () => {
  const { json } = build({ serviceAccounts: ["orders", "orders-backup"] });
  const roles = resourcesOf(json, "aws_iam_role");
  // The IAM role is the construct's default child: its address is the construct's own path.
  expect(Object.keys(roles)).toEqual(["orders-role"]);
  const role = roles["orders-role"];
  expect(role).toMatchObject({ name: "shop-orders", max_session_duration: 3600, provider: "aws" });
  expect(role.description).toBe("IRSA role of shop/orders,orders-backup");
  const trust = JSON.parse(role.assume_role_policy as string);
  expect(trust.Statement).toEqual([
    {
      Sid: "ServiceAccountWebIdentity",
      Effect: "Allow",
      Principal: { Federated: `arn:aws:iam::123456789012:oidc-provider/${oidcProvider}` },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: {
          [`${oidcProvider}:sub`]: ["system:serviceaccount:shop:orders", "system:serviceaccount:shop:orders-backup"],
          [`${oidcProvider}:aud`]: "sts.amazonaws.com",
        },
      },
    },
  ]);
});

test("it carries no permissions of its own, and exposes the name and ARN grants and annotations use", () => {
  const { json } = build({ description: "orders reads its bucket", maxSessionSeconds: 7200 });
  expect(resourcesOf(json, "aws_iam_role_policy")).toEqual({});
  expect(resourcesOf(json, "aws_iam_role")["orders-role"]).toMatchObject({
    description: "orders reads its bucket",
    max_session_duration: 7200,
  });
  expect(json.output?.arn.value).toBe("${aws_iam_role.orders-role.arn}");
  expect(json.output?.name.value).toBe("${aws_iam_role.orders-role.name}");
});

describe("IrsaRole refuses bad props, naming the prop and what is allowed", () => {
  test.each<[string, Partial<IrsaRoleProps>, RegExp]>([
    ["no service account", { serviceAccounts: [] }, /^IrsaRole: serviceAccounts must name at least one service account \(got \[\]\)$/],
    [
      "a service account that is no DNS label",
      { serviceAccounts: ["Orders_1"] },
      /^IrsaRole: serviceAccounts must be DNS-1123 labels \(got "Orders_1"\)$/,
    ],
    ["a namespace that is no DNS label", { namespace: "Shop" }, /^IrsaRole: namespace must be a DNS-1123 label \(got "Shop"\)$/],
    ["an 11-digit account", { accountId: "12345678901" }, /^IrsaRole: accountId must be a 12-digit AWS account id \(got "12345678901"\)$/],
    [
      "an OIDC provider with a scheme",
      { oidcProvider: `https://${oidcProvider}` },
      /^IrsaRole: oidcProvider must be the OIDC provider host\/path without scheme/,
    ],
    ["a role name with a space", { roleName: "shop orders" }, /^IrsaRole: roleName must be an IAM role name/],
    ["a 65-character role name", { roleName: "r".repeat(65) }, /^IrsaRole: roleName must be an IAM role name \(1-64/],
    ["a session of 30 minutes", { maxSessionSeconds: 1800 }, /^IrsaRole: maxSessionSeconds must be an integer 3600-43200 \(got 1800\)$/],
  ])("%s", (_what, change, message) => {
    expect(() => build(change)).toThrow(message);
  });
});
