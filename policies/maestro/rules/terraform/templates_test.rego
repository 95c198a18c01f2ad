package maestro.rules.terraform_test

import data.maestro.fixtures
import data.maestro.rules.terraform

deny_messages(fields) := {v.message | some v in r} if {
	r := terraform.deny with input as fixtures.stack("backup", fields)
}

# held returns the whole message for what a string holds.
held(what) := concat("", [
	what,
	", which Terraform reads as a template sequence (the text must reach the object verbatim)",
])

test_references_and_escaped_text_pass if {
	deny_messages({
		"resources": {"kubernetes_config_map_v1": {"c": {
			"metadata": {"name": "${kubernetes_namespace_v1.ns.metadata[0].name}"},
			"data": {"pitr.sh": "dir=$${TMPDIR:-/tmp}\nfor a in \"$${@:2}\"; do :; done\n%%{ not a directive }"},
		}}},
		"outputs": {"arn": {"value": "${aws_iam_role.restore.arn}"}, "text": {"value": "no sequence here"}},
	}) == set()
}

test_tf_001_shell_expansion_in_a_configmap_is_denied if {
	config_map := {"c": {"data": {"pitr.sh": "dir=${TMPDIR:-/tmp}\n"}}}
	messages := deny_messages({"resources": {"kubernetes_config_map_v1": config_map}})
	messages == {held(`data.pitr.sh holds "${TMPDIR:-/tmp}"`)}
}

test_tf_001_directive_and_unterminated_sequence_are_denied if {
	directives := deny_messages({"resources": {"x": {"y": {"a": ["%{ if true }yes%{ endif }"]}}}})
	directives == {held(`a.0 holds "%{ if true }" and 1 more`)}
	deny_messages({"resources": {"x": {"y": {"a": "echo ${"}}}}) == {held(`a holds "${"`)}
}

test_tf_001_outputs_are_checked if {
	deny_messages({"outputs": {"cmd": {"value": "ISO_TS=${ISO_TS} pitr.sh"}}}) == {held(`value holds "${ISO_TS}"`)}
}

test_tf_001_a_reference_next_to_shell_text_is_still_found if {
	deny_messages({"resources": {"x": {"y": {"s": "${aws_s3_bucket.b.id}/${HOME}"}}}}) == {held(`s holds "${HOME}"`)}
}
