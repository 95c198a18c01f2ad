// One pattern per name shape (contracts/names.ts): every layer that checks a value agrees on it,
// so a value config accepts is one the construct and the service accept too.
import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { readAuditSettings } from "../../app/audit/settings";
import { readComplianceSettings } from "../../app/compliance/settings";
import { environments, validateEnvironment } from "../../config/load";
import { ObjectLockBucket } from "../../constructs/audit/object-lock-bucket";

const staging = environments.staging;
const configAccepts = (patch: (c: Record<string, unknown>) => void): boolean => {
  const input = structuredClone(staging) as unknown as Record<string, unknown>;
  patch(input);
  try {
    validateEnvironment("staging", input);
    return true;
  } catch {
    return false;
  }
};
const accepts = (fn: () => unknown): boolean => {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
};

describe.each([
  ["audit/", true],
  ["maestro/audit/", true],
  ["audit", false],
  ["/audit/", false],
  ["Audit/", false],
  ["audit//", false],
])("audit key prefix %j", (prefix, valid) => {
  test(`config, ObjectLockBucket and the service's WORM settings all say ${valid ? "yes" : "no"}`, () => {
    const config = configAccepts((c) => ((c.audit as Record<string, unknown>).prefix = prefix));
    const construct = accepts(() => {
      const stack = new TerraformStack(Testing.app(), "t");
      const aws = new AwsProvider(stack, "aws", { region: "eu-west-1" });
      new ObjectLockBucket(stack, "b", {
        aws,
        bucketName: "audit-test-bucket",
        retentionDays: 10,
        accountId: "123456789012",
        region: "eu-west-1",
        prefix,
      });
    });
    const service = accepts(() =>
      readAuditSettings(
        { AUDIT_WORM_ENABLED: "true", AUDIT_WORM_BUCKET: "audit-test-bucket", AUDIT_RETENTION_DAYS: "10", AUDIT_WORM_PREFIX: prefix },
        "/tmp",
      ),
    );
    expect({ config, construct, service }).toEqual({ config: valid, construct: valid, service: valid });
  });
});

describe.each([
  ["maestro", true],
  ["a", true],
  ["x".repeat(63), true],
  ["x".repeat(64), false],
  ["Bad_NS", false],
  ["-lead", false],
])("DNS label %j", (label, valid) => {
  test(`config and the service's settings both say ${valid ? "yes" : "no"}`, () => {
    const config = configAccepts((c) => ((c.backup as Record<string, unknown>).databaseName = label));
    const service = accepts(() => readComplianceSettings({ POD_NAMESPACE: label }, "/tmp"));
    expect({ config, service }).toEqual({ config: valid, service: valid });
  });
});
