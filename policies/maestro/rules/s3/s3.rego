# METADATA
# title: Audit bucket (WORM)
# description: >-
#   The audit bucket (parameters.audit.bucketName) keeps every object immutable for the configured
#   retention: Object Lock COMPLIANCE, versioning, KMS, no public access, TLS only.
package maestro.rules.s3

import data.maestro.lib

audit_name := input.parameters.audit.bucketName

# audit_buckets maps the address of every audit bucket to its values.
audit_buckets[address] := bucket if {
	some name, bucket in input.resources.aws_s3_bucket
	bucket.bucket == audit_name
	address := concat("", ["aws_s3_bucket.", lib.str(name)])
}

# companions returns the resources of type that configure the bucket at address.
companions(type, address) := [r |
	some r in object.get(input.resources, type, {})
	lib.refers_to(r.bucket, address, audit_buckets[address].bucket)
]

# METADATA
# title: Audit bucket lacks Object Lock in COMPLIANCE mode
# description: >-
#   Only COMPLIANCE mode stops every principal, root included, from shortening retention or
#   deleting.
# custom:
#   id: MAESTRO-S3-001
#   severity: critical
#   control: "runbook: audit WORM bucket, Object Lock COMPLIANCE"
#   fix: >-
#     Set object_lock_enabled true on the bucket and an aws_s3_bucket_object_lock_configuration
#     with default_retention mode COMPLIANCE.
deny contains v if {
	some address, bucket in audit_buckets
	some problem in lock_problems(address, bucket)
	message := concat("", ["bucket ", lib.str(bucket.bucket), " ", lib.str(problem)])
	v := lib.violation(rego.metadata.rule(), address, message)
}

lock_problems(_, bucket) := {"has object_lock_enabled unset or false"} if {
	not bucket.object_lock_enabled == true
}

lock_problems(address, bucket) := {"has no aws_s3_bucket_object_lock_configuration"} if {
	bucket.object_lock_enabled == true
	count(companions("aws_s3_bucket_object_lock_configuration", address)) == 0
}

lock_problems(address, bucket) := {concat("", ["has default retention mode ", lib.str(mode), ", not COMPLIANCE"]) |
	some config in companions("aws_s3_bucket_object_lock_configuration", address)
	mode := object.get(default_retention(config), "mode", "(none)")
	mode != "COMPLIANCE"
} if {
	bucket.object_lock_enabled == true
	count(companions("aws_s3_bucket_object_lock_configuration", address)) > 0
}

default_retention(config) := lib.one(lib.one(config.rule).default_retention)

# METADATA
# title: Audit bucket retention is shorter than configured
# description: The default retention must be at least audit.retentionDays from the environment's config.
# custom:
#   id: MAESTRO-S3-002
#   severity: critical
#   control: "runbook: audit WORM bucket, retention from config"
#   fix: Set default_retention.days (or years) to at least the configured audit.retentionDays.
deny contains v if {
	some address, _ in audit_buckets
	some config in companions("aws_s3_bucket_object_lock_configuration", address)
	days := retention_days(default_retention(config))
	days < input.parameters.audit.retentionDays
	v := lib.violation(
		rego.metadata.rule(),
		address,
		concat("", [
			"default retention is ", lib.str(days), " days, config requires at least ",
			lib.str(input.parameters.audit.retentionDays),
		]),
	)
}

retention_days(r) := to_number(r.days) if r.days

retention_days(r) := to_number(r.years) * 365 if {
	not r.days
	r.years
}

retention_days(r) := 0 if {
	not r.days
	not r.years
}

# METADATA
# title: Audit bucket versioning is not enabled
# description: Object Lock protects object versions; versioning must be explicitly Enabled.
# custom:
#   id: MAESTRO-S3-003
#   severity: high
#   control: "runbook: audit WORM bucket, versioning"
#   fix: Add aws_s3_bucket_versioning for the bucket with versioning_configuration.status Enabled.
deny contains v if {
	some address, bucket in audit_buckets
	not versioning_enabled(address)
	v := lib.violation(
		rego.metadata.rule(),
		address,
		concat("", ["bucket ", lib.str(bucket.bucket), " has no aws_s3_bucket_versioning with status Enabled"]),
	)
}

versioning_enabled(address) if {
	some config in companions("aws_s3_bucket_versioning", address)
	lib.one(config.versioning_configuration).status == "Enabled"
}

# METADATA
# title: Audit bucket is not encrypted with KMS
# description: Audit objects are encrypted with a customer-managed KMS key (aws:kms or aws:kms:dsse).
# custom:
#   id: MAESTRO-S3-004
#   severity: high
#   control: "runbook: audit WORM bucket, KMS encryption"
#   fix: >-
#     Add aws_s3_bucket_server_side_encryption_configuration with sse_algorithm aws:kms and
#     kms_master_key_id set to the audit key.
deny contains v if {
	some address, bucket in audit_buckets
	not kms_encrypted(address)
	v := lib.violation(
		rego.metadata.rule(),
		address,
		concat("", [
			"bucket ", lib.str(bucket.bucket),
			" has no server-side encryption rule with sse_algorithm aws:kms and a kms_master_key_id",
		]),
	)
}

kms_encrypted(address) if {
	some config in companions("aws_s3_bucket_server_side_encryption_configuration", address)
	some rule in lib.as_array(config.rule)
	default_encryption := lib.one(rule.apply_server_side_encryption_by_default)
	default_encryption.sse_algorithm in {"aws:kms", "aws:kms:dsse"}
	default_encryption.kms_master_key_id != ""
}

# METADATA
# title: Audit bucket public access is not fully blocked
# description: All four public access block settings must be true.
# custom:
#   id: MAESTRO-S3-005
#   severity: critical
#   control: "runbook: audit WORM bucket, no public access"
#   fix: >-
#     Add aws_s3_bucket_public_access_block with block_public_acls, block_public_policy,
#     ignore_public_acls and restrict_public_buckets true.
deny contains v if {
	some address, bucket in audit_buckets
	some problem in public_access_problems(address)
	message := concat("", ["bucket ", lib.str(bucket.bucket), " ", lib.str(problem)])
	v := lib.violation(rego.metadata.rule(), address, message)
}

public_access_settings := ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]

public_access_problems(address) := {"has no aws_s3_bucket_public_access_block"} if {
	count(companions("aws_s3_bucket_public_access_block", address)) == 0
}

public_access_problems(address) := {concat("", ["has ", lib.str(setting), " not true"]) |
	some block in companions("aws_s3_bucket_public_access_block", address)
	some setting in public_access_settings
	not block[setting] == true
} if count(companions("aws_s3_bucket_public_access_block", address)) > 0

# METADATA
# title: Audit bucket accepts requests without TLS
# description: The bucket policy must deny every request where aws:SecureTransport is false.
# custom:
#   id: MAESTRO-S3-006
#   severity: high
#   control: "runbook: audit WORM bucket, TLS-only access"
#   fix: >-
#     Add a bucket policy statement: Effect Deny, Principal "*", Action s3:*, Condition Bool
#     aws:SecureTransport "false".
deny contains v if {
	some address, bucket in audit_buckets
	not tls_only(address)
	v := lib.violation(
		rego.metadata.rule(),
		address,
		concat("", ["bucket ", lib.str(bucket.bucket), " has no bucket policy denying aws:SecureTransport false"]),
	)
}

tls_only(address) if {
	some name, policy in object.get(input.resources, "aws_s3_bucket_policy", {})
	lib.refers_to(policy.bucket, address, audit_buckets[address].bucket)
	some doc in input.iam_documents
	doc.address == concat("", ["aws_s3_bucket_policy.", lib.str(name)])
	some statement in lib.as_array(doc.document.Statement)
	statement.Effect == "Deny"
	everyone(statement.Principal)
	some action in lib.as_array(statement.Action)
	action in {"*", "s3:*"}
	some value in lib.as_array(statement.Condition.Bool["aws:SecureTransport"])
	lower(concat("", [lib.str(value)])) == "false"
}

everyone("*")

everyone(principal) if "*" in lib.as_array(principal.AWS)

# METADATA
# title: Audit stack has no audit bucket
# description: The audit stack must create the bucket named by audit.bucketName in config.
# custom:
#   id: MAESTRO-S3-007
#   severity: critical
#   control: "runbook: audit WORM bucket"
#   fix: Create the audit bucket in the audit stack with the name from config (audit.bucketName).
deny contains v if {
	input.stack == "audit"
	count(audit_buckets) == 0
	message := concat("", ["no aws_s3_bucket with bucket ", lib.quote(audit_name)])
	v := lib.violation(rego.metadata.rule(), "stack audit", message)
}
