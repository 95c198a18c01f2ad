# METADATA
# title: Workload hardening
# description: Non-root containers with resource limits, the signed-policy annotation, least-privilege RBAC.
package maestro.rules.kubernetes

import data.maestro.lib
import data.maestro.lib.kubernetes as k8s

signature_annotation := "policy.maestro.io/bundle-signature-required"

# METADATA
# title: Container may run as root
# description: Every container must set runAsNonRoot (itself or through the pod) and never runAsUser 0.
# custom:
#   id: MAESTRO-K8S-001
#   severity: high
#   control: "hardening: containers run as non-root"
#   fix: Set securityContext.runAsNonRoot true (pod or container) and a non-zero runAsUser.
deny contains v if {
	some item in k8s.workloads
	some c in k8s.containers(item.object)
	some problem in root_problems(c)
	v := lib.violation(
		rego.metadata.rule(),
		item.address,
		concat("", [
			lib.str(k8s.name(item.object)), " ", lib.str(c.path),
			" (", lib.str(c.container.name), ") ", lib.str(problem),
		]),
	)
}

root_problems(c) := {p |
	some p in ["does not set runAsNonRoot: true"]
	not non_root(c)
} | {p |
	some p in ["sets runAsUser 0"]
	some ctx in [object.get(c.pod, "securityContext", {}), object.get(c.container, "securityContext", {})]
	to_number(object.get(ctx, "runAsUser", 1)) == 0
}

non_root(c) if c.container.securityContext.runAsNonRoot == true

non_root(c) if {
	c.pod.securityContext.runAsNonRoot == true
	object.get(c.container, ["securityContext", "runAsNonRoot"], true) == true
}

# METADATA
# title: Container without resource limits
# description: >-
#   Every container has a memory limit, so one workload cannot exhaust the node, and a CPU limit or at
#   least a CPU request (a request bounds scheduling without throttling latency-sensitive databases).
# custom:
#   id: MAESTRO-K8S-002
#   severity: medium
#   control: "hardening: resource limits"
#   fix: Set resources.limits.memory and resources.limits.cpu (or resources.requests.cpu) on the container.
deny contains v if {
	some item in k8s.workloads
	some c in k8s.containers(item.object)
	some problem in limit_problems(object.get(c.container, "resources", {}))
	v := lib.violation(
		rego.metadata.rule(),
		item.address,
		concat("", [k8s.name(item.object), " ", c.path, " (", c.container.name, ") ", problem]),
	)
}

limit_problems(resources) := {p |
	some p in ["has no resources.limits.memory"]
	not resources.limits.memory
} | {p |
	some p in ["has neither resources.limits.cpu nor resources.requests.cpu"]
	not resources.limits.cpu
	not resources.requests.cpu
}

# METADATA
# title: Workload lacks the signed-policy annotation
# description: >-
#   Every Rollout, and every workload of the app stack, carries policy.maestro.io/bundle-signature-required "true"
#   (pod template or workload metadata), declaring its policy runtime refuses unsigned bundles.
# custom:
#   id: MAESTRO-K8S-003
#   severity: high
#   control: "runbook helm-conftest: signed annotation; ALLOW_UNSIGNED_POLICY=false"
#   fix: 'Add the annotation policy.maestro.io/bundle-signature-required: "true" to spec.template.metadata.annotations.'
deny contains v if {
	some item in k8s.workloads
	needs_signature_annotation(item.object)
	not signature_annotated(item.object)
	v := lib.violation(
		rego.metadata.rule(),
		item.address,
		concat("", [lib.str(k8s.name(item.object)), " has no annotation ", lib.str(signature_annotation), ": \"true\""]),
	)
}

needs_signature_annotation(obj) if obj.kind == "Rollout"

needs_signature_annotation(_) if input.stack == "app"

signature_annotated(obj) if obj.metadata.annotations[signature_annotation] == "true"

signature_annotated(obj) if k8s.pod_template(obj).metadata.annotations[signature_annotation] == "true"

# METADATA
# title: Workload allows unsigned policy bundles
# description: ALLOW_UNSIGNED_POLICY must stay false (its default) in every container that sets it.
# custom:
#   id: MAESTRO-K8S-006
#   severity: critical
#   control: "runbook runtime gate: ALLOW_UNSIGNED_POLICY=false"
#   fix: Remove ALLOW_UNSIGNED_POLICY or set it to "false"; sign the bundle with npm run policy:sign instead.
deny contains v if {
	some item in k8s.workloads
	some c in k8s.containers(item.object)
	some env in object.get(c.container, "env", [])
	env.name == "ALLOW_UNSIGNED_POLICY"
	object.get(env, "value", "") != "false"
	v := lib.violation(
		rego.metadata.rule(),
		item.address,
		concat("", [
			k8s.name(item.object), " ", c.path, " (", c.container.name, ") sets ALLOW_UNSIGNED_POLICY to ",
			lib.quote(object.get(env, "value", null)),
		]),
	)
}

# METADATA
# title: RBAC role grants wildcard verbs or resources
# description: Roles list the verbs and resources they need; "*" grants everything, now and in future APIs.
# custom:
#   id: MAESTRO-K8S-004
#   severity: high
#   control: "least privilege: RBAC"
#   fix: Replace "*" in rules[].verbs and rules[].resources with the exact verbs and resources needed.
deny contains v if {
	some item in input.kubernetes
	item.object.kind in {"Role", "ClusterRole"}
	some i, rule in object.get(item.object, "rules", [])
	some field in ["verbs", "resources", "apiGroups"]
	"*" in object.get(rule, field, [])
	v := lib.violation(
		rego.metadata.rule(),
		item.address,
		concat("", [lib.str(k8s.name(item.object)), " rules[", lib.str(i), "].", lib.str(field), " contains \"*\""]),
	)
}

# METADATA
# title: Binding grants cluster-admin
# description: No subject of this project needs cluster-admin; bind a role with the verbs it needs.
# custom:
#   id: MAESTRO-K8S-005
#   severity: critical
#   control: "least privilege: RBAC"
#   fix: Bind a Role or ClusterRole that lists the needed verbs instead of cluster-admin.
deny contains v if {
	some item in input.kubernetes
	item.object.kind in {"RoleBinding", "ClusterRoleBinding"}
	item.object.roleRef.name == "cluster-admin"
	message := concat("", [lib.str(k8s.name(item.object)), " binds cluster-admin"])
	v := lib.violation(rego.metadata.rule(), item.address, message)
}
