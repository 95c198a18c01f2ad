# METADATA
# title: Shared helpers for the Maestro policies
# description: The violation shape every rule returns, and Terraform reference matching.
package maestro.lib

# violation builds the result every deny/warn rule returns: the rule's METADATA (id, severity,
# control, fix) plus the stack, the resource address and a message naming what is wrong; `msg`
# is the one line conftest requires of an object result (`conftest test` reads these rules too).
violation(meta, resource, message) := {
	# A body without its own METADATA still reports, under an id that names the mistake.
	"rule": rule_id(meta),
	"msg": sprintf("%s %s: %s", [rule_id(meta), resource, message]),
	"title": object.get(meta, "title", ""),
	"severity": object.get(meta, ["custom", "severity"], "high"),
	"control": object.get(meta, ["custom", "control"], ""),
	"fix": object.get(meta, ["custom", "fix"], "add a METADATA block to this rule body"),
	"stack": input.stack,
	"resource": resource,
	"message": message,
}

rule_id(meta) := object.get(meta, ["custom", "id"], "MAESTRO-METADATA-MISSING")

# one returns the object of a Terraform single block, which cdktf writes as an object or a list.
one(block) := block[0] if is_array(block)

one(block) := block if is_object(block)

# as_array returns a list for a value that Terraform or IAM JSON may write as one item or a list.
as_array(v) := v if is_array(v)

as_array(v) := [v] if not is_array(v)

# refers_to holds when a Terraform attribute value points at the resource at address (by id,
# bucket, name or arn), or equals the resource's literal name.
refers_to(value, address, _) if value in {
	concat("", ["${", str(address), ".id}"]),
	concat("", ["${", str(address), ".bucket}"]),
	concat("", ["${", str(address), ".arn}"]),
	concat("", ["${", str(address), ".name}"]),
}

refers_to(value, _, literal) if {
	is_string(literal)
	value == literal
}

# is_reference holds for a Terraform expression such as ${aws_kms_key.audit.arn}.
is_reference(value) if {
	is_string(value)
	startswith(value, "${")
}

# str renders a value for a message identically in OPA and in wasm (the JS SDK's sprintf differs
# from Go's, so the policies never call sprintf).
str(x) := x if is_string(x)

str(x) := json.marshal(x) if not is_string(x)

# quote renders a value as JSON, strings in double quotes.
quote(x) := json.marshal(x)
