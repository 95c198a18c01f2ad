package maestro.rules.s3_test

import data.maestro.fixtures
import data.maestro.rules.s3

ref := "${aws_s3_bucket.audit.id}"

tls_policy := {"Statement": [{
	"Effect": "Deny", "Principal": "*", "Action": "s3:*",
	"Resource": ["arn:aws:s3:::audit-b", "arn:aws:s3:::audit-b/*"],
	"Condition": {"Bool": {"aws:SecureTransport": "false"}},
}]}

good_resources := {
	"aws_s3_bucket": {"audit": {"bucket": "audit-b", "object_lock_enabled": true}},
	"aws_s3_bucket_object_lock_configuration": {"lock": {
		"bucket": ref,
		"rule": {"default_retention": {"mode": "COMPLIANCE", "days": 30}},
	}},
	"aws_s3_bucket_versioning": {"v": {"bucket": ref, "versioning_configuration": {"status": "Enabled"}}},
	"aws_s3_bucket_server_side_encryption_configuration": {"sse": {
		"bucket": ref,
		"rule": [{"apply_server_side_encryption_by_default": {
			"sse_algorithm": "aws:kms",
			"kms_master_key_id": "${aws_kms_key.audit.arn}",
		}}],
	}},
	"aws_s3_bucket_public_access_block": {"pab": {
		"bucket": ref, "block_public_acls": true, "block_public_policy": true,
		"ignore_public_acls": true, "restrict_public_buckets": true,
	}},
	"aws_s3_bucket_policy": {"tls": {"bucket": ref, "policy": "${data.aws_iam_policy_document.tls.json}"}},
}

good_documents := documents(tls_policy.Statement[0])

# documents returns the bucket policy's documents with its one statement replaced.
documents(statement) := [{
	"address": "aws_s3_bucket_policy.tls",
	"attribute": "policy",
	"document": {"Statement": [statement]},
}]

# denies evaluates the audit stack with one attribute path of the good resources replaced.
denies(path, value) := result if {
	resources := json.patch(good_resources, [{"op": "add", "path": path, "value": value}])
	result := s3.deny with input as fixtures.stack("audit", {"resources": resources, "iam_documents": good_documents})
}

messages(violations) := {v.message | some v in violations}

test_compliant_audit_bucket_passes if {
	denies("/aws_s3_bucket/audit/object_lock_enabled", true) == set()
}

test_buckets_other_than_the_audit_bucket_are_not_checked if {
	denies("/aws_s3_bucket/logs", {"bucket": "access-logs"}) == set()
}

test_s3_001_object_lock_disabled_is_denied if {
	result := denies("/aws_s3_bucket/audit/object_lock_enabled", false)
	messages(result) == {"bucket audit-b has object_lock_enabled unset or false"}
}

test_s3_001_governance_mode_is_denied if {
	result := denies("/aws_s3_bucket_object_lock_configuration/lock/rule/default_retention/mode", "GOVERNANCE")
	messages(result) == {"bucket audit-b has default retention mode GOVERNANCE, not COMPLIANCE"}
}

test_s3_001_missing_lock_configuration_is_denied if {
	result := denies("/aws_s3_bucket_object_lock_configuration", {})
	messages(result) == {"bucket audit-b has no aws_s3_bucket_object_lock_configuration"}
}

test_s3_002_short_retention_is_denied if {
	result := denies("/aws_s3_bucket_object_lock_configuration/lock/rule/default_retention/days", 7)
	messages(result) == {"default retention is 7 days, config requires at least 30"}
}

test_s3_002_retention_in_years_counts if {
	path := "/aws_s3_bucket_object_lock_configuration/lock/rule/default_retention"
	denies(path, {"mode": "COMPLIANCE", "years": 1}) == set()
	fixtures.ids(denies(path, {"mode": "COMPLIANCE"})) == {"MAESTRO-S3-002"}
}

test_s3_003_versioning_suspended_is_denied if {
	fixtures.ids(denies("/aws_s3_bucket_versioning/v/versioning_configuration/status", "Suspended")) == {"MAESTRO-S3-003"}
}

test_s3_004_aes256_is_denied if {
	rule := "/aws_s3_bucket_server_side_encryption_configuration/sse/rule/0"
	path := concat("", [rule, "/apply_server_side_encryption_by_default/sse_algorithm"])
	fixtures.ids(denies(path, "AES256")) == {"MAESTRO-S3-004"}
}

test_s3_005_public_access_block_missing_or_partial_is_denied if {
	partial := denies("/aws_s3_bucket_public_access_block/pab/restrict_public_buckets", false)
	messages(partial) == {"bucket audit-b has restrict_public_buckets not true"}
	missing := denies("/aws_s3_bucket_public_access_block", {})
	messages(missing) == {"bucket audit-b has no aws_s3_bucket_public_access_block"}
}

test_s3_006_bucket_policy_without_tls_deny_is_denied if {
	fixtures.ids(denies("/aws_s3_bucket_policy", {})) == {"MAESTRO-S3-006"}
	result := s3.deny with input as fixtures.stack("audit", {
		"resources": good_resources,
		"iam_documents": documents(object.union(
			tls_policy.Statement[0],
			{"Condition": {"Bool": {"aws:SecureTransport": "true"}}},
		)),
	})
	fixtures.ids(result) == {"MAESTRO-S3-006"}
}

test_s3_006_principal_aws_star_counts if {
	result := s3.deny with input as fixtures.stack("audit", {
		"resources": good_resources,
		"iam_documents": documents(object.union(
			tls_policy.Statement[0],
			{"Principal": {"AWS": "*"}, "Condition": {"Bool": {"aws:SecureTransport": false}}},
		)),
	})
	result == set()
}

test_s3_007_audit_stack_without_the_bucket_is_denied if {
	result := s3.deny with input as fixtures.stack("audit", {})
	messages(result) == {`no aws_s3_bucket with bucket "audit-b"`}
	other := s3.deny with input as fixtures.stack("backup", {})
	other == set()
}
