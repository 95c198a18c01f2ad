/**
 * The bucket-policy statement every bucket of this project carries: any request over plain HTTP
 * is denied, for the bucket and every object in it (policy MAESTRO-S3-006 checks for it).
 */
export function denyInsecureTransport(bucketArn: string): object {
  return {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [bucketArn, `${bucketArn}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}
