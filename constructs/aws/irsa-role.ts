import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";

/** Properties of an {@link IrsaRole}. */
export interface IrsaRoleProps {
  /** The AWS provider of the stack (IAM is global to the account). */
  readonly aws: AwsProvider;
  /** IAM role name (1-64 letters, digits and +=,.@_-). */
  readonly roleName: string;
  /** AWS account of the cluster's IAM OIDC provider. */
  readonly accountId: string;
  /** The cluster's IAM OIDC provider, host/path without scheme (oidc.eks.<region>.amazonaws.com/id/<id>). */
  readonly oidcProvider: string;
  /** Kubernetes namespace of the service accounts. */
  readonly namespace: string;
  /** Kubernetes service accounts of `namespace` that may assume the role (at least one); no other subject can. */
  readonly serviceAccounts: readonly string[];
  /** What the role is for (its IAM description). @default "IRSA role of <namespace>/<service accounts>" */
  readonly description?: string;
  /** Longest session, in seconds (3600-43200). @default 3600 */
  readonly maxSessionSeconds?: number;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Throws an error naming the prop and what is allowed. */
function check(ok: boolean, prop: string, allowed: string, got: unknown): void {
  if (!ok) throw new Error(`IrsaRole: ${prop} ${allowed} (got ${JSON.stringify(got)})`);
}

/**
 * An IAM role for Kubernetes service accounts (IRSA): trusted only by tokens the cluster's OIDC
 * provider issues, with audience sts.amazonaws.com, for exactly the listed service accounts of one
 * namespace. It carries no permissions of its own; grant them with e.g.
 * `objectLockBucket.grantAppend(role)`. The IAM role is this construct's default child, so its
 * Terraform address is the construct's own path.
 */
export class IrsaRole extends Construct {
  readonly role: IamRole;
  /** The role name (what grants attach inline policies to). */
  readonly name: string;
  /** The role ARN, for the service account's `eks.amazonaws.com/role-arn` annotation. */
  readonly arn: string;
  /** The trust policy document (JSON), as synthesized. */
  readonly trustPolicy: string;

  constructor(scope: Construct, id: string, props: IrsaRoleProps) {
    super(scope, id);
    const maxSession = props.maxSessionSeconds ?? 3600;
    check(
      /^[\w+=,.@-]{1,64}$/.test(props.roleName),
      "roleName",
      "must be an IAM role name (1-64 of letters, digits, +=,.@_-)",
      props.roleName,
    );
    check(/^\d{12}$/.test(props.accountId), "accountId", "must be a 12-digit AWS account id", props.accountId);
    check(
      /^[a-z0-9.-]+(\/[\w.-]+)*$/.test(props.oidcProvider),
      "oidcProvider",
      "must be the OIDC provider host/path without scheme",
      props.oidcProvider,
    );
    check(dnsLabel.test(props.namespace), "namespace", "must be a DNS-1123 label", props.namespace);
    check(props.serviceAccounts.length > 0, "serviceAccounts", "must name at least one service account", props.serviceAccounts);
    for (const account of props.serviceAccounts) check(dnsLabel.test(account), "serviceAccounts", "must be DNS-1123 labels", account);
    check(
      Number.isInteger(maxSession) && maxSession >= 3600 && maxSession <= 43200,
      "maxSessionSeconds",
      "must be an integer 3600-43200",
      maxSession,
    );

    this.trustPolicy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "ServiceAccountWebIdentity",
          Effect: "Allow",
          Principal: { Federated: `arn:aws:iam::${props.accountId}:oidc-provider/${props.oidcProvider}` },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: {
            StringEquals: {
              [`${props.oidcProvider}:sub`]: props.serviceAccounts.map((account) => `system:serviceaccount:${props.namespace}:${account}`),
              [`${props.oidcProvider}:aud`]: "sts.amazonaws.com",
            },
          },
        },
      ],
    });
    this.role = new IamRole(this, "Default", {
      provider: props.aws,
      name: props.roleName,
      description: props.description ?? `IRSA role of ${props.namespace}/${props.serviceAccounts.join(",")}`,
      assumeRolePolicy: this.trustPolicy,
      maxSessionDuration: maxSession,
    });
    this.name = this.role.name;
    this.arn = this.role.arn;
  }
}
