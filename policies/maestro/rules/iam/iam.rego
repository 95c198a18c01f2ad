# METADATA
# title: IAM least privilege
# description: >-
#   Identity and bucket policies of the app and the backups name their actions and resources;
#   nothing may bypass or rewrite Object Lock retention.
package maestro.rules.iam

import data.maestro.lib

# Attributes that hold permission policies (trust policies say who may assume, not what is allowed).
permission_documents contains doc if {
	some doc in input.iam_documents
	doc.document
	doc.attribute != "assume_role_policy"
	not startswith(doc.address, "aws_kms_key.") # a key policy's Resource "*" means "this key"
}

allow_statements contains [doc.address, i, statement] if {
	some doc in permission_documents
	some i, statement in lib.as_array(doc.document.Statement)
	object.get(statement, "Effect", "Allow") == "Allow"
}

wildcard_action(action) if action == "*"

wildcard_action(action) if endswith(action, ":*")

# METADATA
# title: Policy allows wildcard actions
# description: An Allow of "*" or "<service>:*" (or any NotAction) grants every action, including ones added later.
# custom:
#   id: MAESTRO-IAM-001
#   severity: critical
#   control: "least privilege: IAM for the app and backups"
#   fix: List the exact actions (e.g. s3:PutObject, s3:GetObject) instead of "*" or "<service>:*".
deny contains v if {
	some [resource, message] in wildcard_action_grants
	v := lib.violation(rego.metadata.rule(), resource, message)
}

# Every grant of all actions: [resource address, message].
wildcard_action_grants contains finding if {
	some [address, i, statement] in allow_statements
	some action in lib.as_array(object.get(statement, "Action", []))
	wildcard_action(action)
	finding := [address, concat("", ["Statement[", lib.str(i), "] allows Action ", lib.quote(action)])]
}

wildcard_action_grants contains finding if {
	some [address, i, statement] in allow_statements
	statement.NotAction
	finding := [address, concat("", ["Statement[", lib.str(i), "] allows everything but NotAction"])]
}

wildcard_action_grants contains finding if {
	some name, attachment in object.get(input.resources, "aws_iam_role_policy_attachment", {})
	regex.match(broad_managed_policy, attachment.policy_arn)
	finding := [
		concat("", ["aws_iam_role_policy_attachment.", lib.str(name)]),
		concat("", ["attaches the AWS managed policy ", lib.str(attachment.policy_arn)]),
	]
}

# METADATA
# title: Policy allows wildcard resources
# description: An Allow on Resource "*" or on a bucket ARN with a wildcard reaches data it was not meant for.
# custom:
#   id: MAESTRO-IAM-002
#   severity: critical
#   control: "least privilege: IAM for the app and backups"
#   fix: Name the bucket ARN and its key prefix (arn:aws:s3:::<bucket>/<prefix>/*) instead of "*".
deny contains v if {
	some [resource, message] in wildcard_resource_grants
	v := lib.violation(rego.metadata.rule(), resource, message)
}

# AWS managed policies that grant whole services (or everything).
broad_managed_policy := `^arn:aws[a-z-]*:iam::aws:policy/(AdministratorAccess|PowerUserAccess|.*FullAccess)$`

# Every grant on all resources: [resource address, message].
wildcard_resource_grants contains finding if {
	some [address, i, statement] in allow_statements
	some resource in lib.as_array(object.get(statement, "Resource", []))
	wildcard_resource(resource)
	finding := [address, concat("", ["Statement[", lib.str(i), "] allows Resource ", lib.quote(resource)])]
}

wildcard_resource_grants contains finding if {
	some [address, i, statement] in allow_statements
	statement.NotResource
	finding := [address, concat("", ["Statement[", lib.str(i), "] allows every resource but NotResource"])]
}

wildcard_resource("*")

# A wildcard in the bucket-name part of an S3 ARN (object keys after "/" may use prefixes).
wildcard_resource(resource) if regex.match(`^arn:aws[a-z-]*:s3:::[^/]*\*`, resource)

# METADATA
# title: Policy allows bypassing Object Lock retention
# description: >-
#   No principal of this project may bypass governance-mode retention or rewrite the bucket's Object Lock
#   configuration (its default retention). Per-object s3:PutObjectRetention stays allowed: writers set
#   retention on upload, and under COMPLIANCE it can only be extended.
# custom:
#   id: MAESTRO-IAM-003
#   severity: critical
#   control: "runbook: audit WORM bucket; backups immutable"
#   fix: Remove s3:BypassGovernanceRetention and s3:PutBucketObjectLockConfiguration (and wildcards covering them).
deny contains v if {
	some [address, i, statement] in allow_statements
	some action in lib.as_array(object.get(statement, "Action", []))
	some forbidden in retention_actions
	glob.match(lower(action), [], lower(forbidden))
	message := concat("", ["Statement[", lib.str(i), "] Action ", lib.quote(action), " allows ", lib.str(forbidden)])
	v := lib.violation(rego.metadata.rule(), address, message)
}

retention_actions := ["s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration"]

# METADATA
# title: Policy document cannot be checked
# description: A policy that is neither JSON nor an aws_iam_policy_document reference is invisible to these rules.
# custom:
#   id: MAESTRO-IAM-W01
#   severity: low
#   control: "least privilege: IAM for the app and backups"
#   fix: Build the policy with aws_iam_policy_document (or a JSON string) so the policies can read it.
warn contains v if {
	some doc in input.iam_documents
	doc.unresolved
	message := concat("", [lib.str(doc.attribute), " is ", lib.str(doc.unresolved)])
	v := lib.violation(rego.metadata.rule(), doc.address, message)
}
