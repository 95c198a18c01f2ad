import { Construct } from "constructs";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";

/** Properties of a {@link ServiceAccountRole}. */
export interface ServiceAccountRoleProps {
  /** The AWS provider of the stack (IAM is global; any region of the account). */
  readonly aws: AwsProvider;
  /** IAM role name. */
  readonly roleName: string;
  /** AWS account of the cluster's IAM OIDC provider. */
  readonly accountId: string;
  /** The cluster's IAM OIDC provider, host/path without scheme (oidc.eks.<region>.amazonaws.com/id/<id>). */
  readonly oidcProvider: string;
  /** Kubernetes namespace of the service account. */
  readonly namespace: string;
  /** Kubernetes service account that may assume the role; no other subject can. */
  readonly serviceAccount: string;
  /** Longest session, in seconds (3600-43200). @default 3600 */
  readonly maxSessionSeconds?: number;
}

/**
 * An IAM role for a Kubernetes service account (IRSA): trusted only by tokens the cluster's OIDC
 * provider issues for exactly one namespace/service account, with audience sts.amazonaws.com.
 * It carries no permissions of its own; grant them with e.g. `objectLockBucket.grantAppend(role)`.
 */
export class ServiceAccountRole extends Construct {
  readonly role: IamRole;
  /** The role name (what `grantAppend` attaches to). */
  readonly name: string;
  /** The role ARN, for the service account's `eks.amazonaws.com/role-arn` annotation. */
  readonly arn: string;
  /** The trust policy document (JSON), as synthesized. */
  readonly trustPolicy: string;

  constructor(scope: Construct, id: string, props: ServiceAccountRoleProps) {
    super(scope, id);
    const maxSession = props.maxSessionSeconds ?? 3600;
    if (!/^\d{12}$/.test(props.accountId))
      throw new Error(`ServiceAccountRole: accountId must be a 12-digit AWS account id (got "${props.accountId}")`);
    if (!/^[a-z0-9.-]+(\/[\w.-]+)*$/.test(props.oidcProvider))
      throw new Error(`ServiceAccountRole: oidcProvider must be the OIDC provider host/path without scheme (got "${props.oidcProvider}")`);
    if (!Number.isInteger(maxSession) || maxSession < 3600 || maxSession > 43200)
      throw new Error(`ServiceAccountRole: maxSessionSeconds must be an integer 3600-43200 (got ${maxSession})`);
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
              [`${props.oidcProvider}:sub`]: `system:serviceaccount:${props.namespace}:${props.serviceAccount}`,
              [`${props.oidcProvider}:aud`]: "sts.amazonaws.com",
            },
          },
        },
      ],
    });
    this.role = new IamRole(this, "role", {
      provider: props.aws,
      name: props.roleName,
      description: `IRSA role of ${props.namespace}/${props.serviceAccount}`,
      assumeRolePolicy: this.trustPolicy,
      maxSessionDuration: maxSession,
    });
    this.name = this.role.name;
    this.arn = this.role.arn;
  }
}
