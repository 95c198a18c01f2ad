# METADATA
# title: No secret values in synthesized JSON
# description: Synth output is committed, diffed and posted on PRs; it may hold references to secrets, never values.
package maestro.rules.secrets

import data.maestro.lib
import data.maestro.lib.kubernetes as k8s

secret_patterns := {
	"a PEM private key": `-----BEGIN ([A-Z]+ )?PRIVATE KEY-----`,
	"an AWS access key id": `(AKIA|ASIA)[0-9A-Z]{16}`,
	"a JSON Web Token": `eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.`,
	"a GitHub token": `gh[pousr]_[A-Za-z0-9]{36}`,
	"a Slack token": `xox[abprs]-[A-Za-z0-9-]{10,}`,
	"a password in a URL": `[a-z][a-z0-9+.-]*://[^/:@\s${}]+:[^/@\s${}]+@`,
}

# Key or variable names that say their value is a secret.
secret_name := `(?i)(password|passwd|secret|token|api_?key|private_?key|access_?key|credentials?)$`

# Patterns are not anchored on word boundaries, so a match in a string also matches in its JSON
# encoding: one regex over each resource's JSON finds the suspects, and only those are walked.
any_secret_pattern := concat("|", [concat("", ["(", p, ")"]) | some p in secret_patterns])

suspects contains [type, name] if {
	some type, resources in input.resources
	some name, values in resources
	regex.match(any_secret_pattern, json.marshal(values))
}

# METADATA
# title: Secret value in synthesized JSON
# description: A string shaped like a credential (private key, access key, token, password in a URL) is in the output.
# custom:
#   id: MAESTRO-SEC-001
#   severity: critical
#   control: "secrets never appear in synthesized JSON"
#   fix: Store the value in a Kubernetes Secret or AWS Secrets Manager and reference it by name or ARN.
deny contains v if {
	some [resource, message] in secret_values
	v := lib.violation(rego.metadata.rule(), resource, message)
}

# Every credential-shaped string in a resource or an output: [address, message].
secret_values contains finding if {
	some [type, name] in suspects
	values := input.resources[type][name]
	walk(values, [path, value])
	is_string(value)
	some label, pattern in secret_patterns
	regex.match(pattern, value)
	where := concat(".", [concat("", [lib.str(p)]) | some p in path])
	finding := [concat("", [lib.str(type), ".", lib.str(name)]), concat("", [lib.str(where), " holds ", lib.str(label)])]
}

secret_values contains finding if {
	some name, out in input.outputs
	walk(out, [_, value])
	is_string(value)
	some label, pattern in secret_patterns
	regex.match(pattern, value)
	finding := [concat("", ["output.", lib.str(name)]), concat("", ["holds ", lib.str(label)])]
}

# METADATA
# title: Kubernetes Secret with literal data
# description: A Secret's data in synth output is a secret in the repository and every plan.
# custom:
#   id: MAESTRO-SEC-002
#   severity: critical
#   control: "secrets never appear in synthesized JSON"
#   fix: Create the Secret outside synth (External Secrets, sealed secret, kubectl) and reference it by name.
deny contains v if {
	some item in k8s.objects_of_kind("Secret")
	some field in ["data", "stringData", "binaryData"]
	some key, value in object.get(item.object, field, {})
	not lib.is_reference(value)
	message := concat("", [lib.str(k8s.name(item.object)), " has a literal ", lib.str(field), ".", lib.str(key)])
	v := lib.violation(rego.metadata.rule(), item.address, message)
}

# METADATA
# title: Secret-named environment variable with a literal value
# description: An env var named like a credential must come from a Secret (valueFrom.secretKeyRef).
# custom:
#   id: MAESTRO-SEC-003
#   severity: high
#   control: "secrets never appear in synthesized JSON"
#   fix: Use valueFrom.secretKeyRef (or a mounted Secret file) for the variable.
deny contains v if {
	some item in k8s.workloads
	some c in k8s.containers(item.object)
	some env in object.get(c.container, "env", [])
	regex.match(secret_name, env.name)
	env.value != ""
	not lib.is_reference(env.value)
	v := lib.violation(
		rego.metadata.rule(),
		item.address,
		concat("", [
			lib.str(k8s.name(item.object)), " ", lib.str(c.path),
			" env ", lib.str(env.name), " has a literal value",
		]),
	)
}

# METADATA
# title: Helm release passes a secret value
# description: Helm values and set_sensitive entries in synth output are visible to anyone reading it.
# custom:
#   id: MAESTRO-SEC-004
#   severity: high
#   control: "secrets never appear in synthesized JSON"
#   fix: Point the chart at an existing Secret (e.g. existingSecret) instead of passing the value.
deny contains v if {
	some [resource, message] in helm_secret_values
	v := lib.violation(rego.metadata.rule(), resource, message)
}

# Every secret value a Helm release passes: [release address, message].
helm_secret_values contains finding if {
	some release in input.helm_releases
	some entry in release.set_sensitive
	not lib.is_reference(entry.value)
	finding := [release.address, concat("", ["set_sensitive ", lib.str(entry.name), " has a literal value"])]
}

helm_secret_values contains finding if {
	some release in input.helm_releases
	some i, values in release.values
	walk(values, [path, value])
	is_string(value)
	value != ""
	key := path[count(path) - 1]
	is_string(key)
	regex.match(secret_name, key)
	not startswith(lower(key), "existing")
	not lib.is_reference(value)
	where := concat(".", [concat("", [lib.str(p)]) | some p in path])
	finding := [release.address, concat("", ["values[", lib.str(i), "].", lib.str(where), " has a literal value"])]
}
