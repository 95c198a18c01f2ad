/**
 * The key policy every KMS key of this project carries: the account administers and uses the key
 * through IAM (roles get kms:* actions on it only by their own, least-privilege policies), as AWS's
 * default key policy does, but written down so a reviewer sees it and checkov (CKV2_AWS_64) finds one.
 */
export function accountKeyPolicy(accountId: string): object {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AccountAdministersThroughIam",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: "kms:*",
        Resource: "*",
      },
    ],
  };
}
