# METADATA
# title: Terraform reads every string as a template
# description: >-
#   A `${` or `%{` in any string of the synthesized JSON is a Terraform template sequence; only
#   references may be.
package maestro.rules.terraform

import data.maestro.lib

# A reference cdktf writes for a token, e.g. ${aws_kms_key.k.arn} or ${kubernetes_config_map_v1.c.metadata[0].name}:
# what follows its `${`, up to and including the closing brace.
reference := `^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+|\[[0-9]+\])+\}`

# The string without its escapes ($${ and %%{), which Terraform turns into literal ${ and %{.
plain(s) := replace(replace(s, "$${", ""), "%%{", "")

# The template sequences of a string that are not a plain reference, as far as 40 characters show them.
offending(s) := array.concat(
	[snippet("${", rest) |
		some i, rest in regex.split(`\$\{`, plain(s))
		i > 0
		not regex.match(reference, rest)
	],
	[snippet("%{", rest) |
		some i, rest in regex.split(`%\{`, plain(s))
		i > 0
	],
)

snippet(opening, rest) := concat("", [opening, substring(rest, 0, end)]) if {
	close := indexof(rest, "}")
	close >= 0
	end := min([close + 1, 40])
} else := concat("", [opening, substring(rest, 0, 40)])

# A resource's (or output's) strings are walked only when its JSON holds a sequence at all.
suspect(values) if regex.match(`[$%]\{`, json.marshal(values))

path_of(path) := concat(".", [lib.str(p) | some p in path])

message(where, s) := concat("", [
	lib.str(where), " holds ", lib.quote(offending(s)[0]), more(count(offending(s)) - 1),
	", which Terraform reads as a template sequence (the text must reach the object verbatim)",
])

more(0) := ""

more(n) := concat("", [" and ", lib.str(format_int(n, 10)), " more"]) if n > 0

# METADATA
# title: String holds an unescaped Terraform template sequence
# description: >-
#   Embedded file content or text with ${...} or %{...} that is not a reference breaks terraform
#   plan, or silently changes what is deployed.
# custom:
#   id: MAESTRO-TF-001
#   severity: high
#   control: "every stack is valid Terraform: plans as synthesized"
#   fix: >-
#     Embed files with embedFile() and literal text with terraformLiteral()
#     (constructs/terraform/literal.ts), which double ${ and %{.
deny contains v if {
	some [resource, text] in unescaped_templates
	v := lib.violation(rego.metadata.rule(), resource, text)
}

# Every string of a resource or an output with a template sequence: [address, message].
unescaped_templates contains finding if {
	some type, resources in input.resources
	some name, values in resources
	suspect(values)
	walk(values, [path, value])
	is_string(value)
	count(offending(value)) > 0
	finding := [concat("", [lib.str(type), ".", lib.str(name)]), message(path_of(path), value)]
}

unescaped_templates contains finding if {
	some name, out in input.outputs
	suspect(out)
	walk(out, [path, value])
	is_string(value)
	count(offending(value)) > 0
	finding := [concat("", ["output.", lib.str(name)]), message(path_of(path), value)]
}
