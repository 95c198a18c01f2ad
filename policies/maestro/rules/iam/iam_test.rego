package maestro.rules.iam_test

import data.maestro.fixtures
import data.maestro.rules.iam

document(statements) := {
	"address": "aws_iam_role_policy.app",
	"attribute": "policy",
	"document": {"Version": "2012-10-17", "Statement": statements},
}

least_privilege := {
	"Effect": "Allow",
	"Action": ["s3:PutObject", "s3:PutObjectRetention"],
	"Resource": "arn:aws:s3:::audit-b/audit/*",
}

denies(docs, resources) := r if {
	r := iam.deny with input as fixtures.stack("audit", {"iam_documents": docs, "resources": resources})
}

deny_messages(statements) := {v.message | some v in denies([document(statements)], {})}

# changed returns the messages for the least-privilege statement with some fields replaced.
changed(fields) := deny_messages([object.union(least_privilege, fields)])

test_least_privilege_policy_passes if {
	deny_messages([least_privilege]) == set()
}

test_iam_001_wildcard_actions_are_denied if {
	`Statement[0] allows Action "s3:*"` in changed({"Action": "s3:*"})
	`Statement[0] allows Action "*"` in changed({"Action": ["*"]})
	changed({"Action": "kms:*"}) == {`Statement[0] allows Action "kms:*"`}
	not_action := deny_messages([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::audit-b/*"}])
	not_action == {"Statement[0] allows everything but NotAction"}
}

test_iam_001_deny_statements_may_use_wildcards if {
	deny_messages([least_privilege, {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]) == set()
}

test_iam_001_admin_managed_policy_is_denied if {
	attachment := {"role": "r", "policy_arn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}
	r := denies([], {"aws_iam_role_policy_attachment": {"a": attachment}})
	fixtures.ids(r) == {"MAESTRO-IAM-001"}
}

test_iam_002_wildcard_resources_are_denied if {
	changed({"Resource": "*"}) == {`Statement[0] allows Resource "*"`}
	any_bucket := changed({"Resource": ["arn:aws:s3:::maestro-*/audit/*"]})
	any_bucket == {`Statement[0] allows Resource "arn:aws:s3:::maestro-*/audit/*"`}
	not_resource := deny_messages([{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x"}])
	not_resource == {"Statement[0] allows every resource but NotResource"}
}

test_iam_002_trust_and_key_policies_are_not_permission_policies if {
	trust := {"address": "aws_iam_role.app", "attribute": "assume_role_policy", "document": {"Statement": [{
		"Effect": "Allow",
		"Action": "sts:AssumeRoleWithWebIdentity",
		"Principal": {"Federated": "arn"},
	}]}}
	key := {"address": "aws_kms_key.audit", "attribute": "policy", "document": {"Statement": [{
		"Effect": "Allow",
		"Action": "kms:Decrypt",
		"Resource": "*",
	}]}}
	denies([trust, key], {}) == set()
}

test_iam_003_retention_bypass_is_denied if {
	bypass := changed({"Action": "s3:BypassGovernanceRetention"})
	bypass == {`Statement[0] Action "s3:BypassGovernanceRetention" allows s3:BypassGovernanceRetention`}
	relock := changed({"Action": "s3:PutBucketObjectLock*"})
	relock == {`Statement[0] Action "s3:PutBucketObjectLock*" allows s3:PutBucketObjectLockConfiguration`}
}

test_iam_w01_unreadable_document_warns if {
	unresolved := {"address": "aws_iam_policy.p", "attribute": "policy", "unresolved": "${jsonencode(local.p)}"}
	r := iam.warn with input as fixtures.stack("app", {"iam_documents": [unresolved]})
	{v.message | some v in r} == {"policy is ${jsonencode(local.p)}"}
}
