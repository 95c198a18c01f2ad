# METADATA
# title: Istio mesh security
# description: STRICT mutual TLS everywhere, ISTIO_MUTUAL origination, deny-by-default authorization.
package maestro.rules.istio

import data.maestro.lib
import data.maestro.lib.kubernetes as k8s

weak_modes := {"PERMISSIVE", "DISABLE"}

root_namespace := input.parameters.mesh.rootNamespace

# METADATA
# title: PeerAuthentication weakens mutual TLS
# description: A namespace, workload or port-level PeerAuthentication set to PERMISSIVE or DISABLE lets plaintext in.
# custom:
#   id: MAESTRO-MESH-001
#   severity: high
#   control: "runbook helm-conftest: STRICT mTLS mesh-wide, no weakening"
#   fix: Remove the override or set its mtls.mode (and every portLevelMtls mode) to STRICT.
deny contains v if {
	some item in k8s.objects_of_kind("PeerAuthentication")
	some path, mode in weakened_modes(item.object.spec)
	v := lib.violation(
		rego.metadata.rule(),
		item.address,
		concat("", [lib.str(k8s.name(item.object)), " sets ", lib.str(path), " to ", lib.str(mode)]),
	)
}

weakened_modes(spec) := {"spec.mtls.mode": spec.mtls.mode} if spec.mtls.mode in weak_modes

weakened_modes(spec) := {concat("", ["spec.portLevelMtls[", lib.str(port), "].mode"]): m.mode |
	some port, m in spec.portLevelMtls
	m.mode in weak_modes
} if not spec.mtls.mode in weak_modes

# METADATA
# title: Mesh stack lacks a mesh-wide STRICT PeerAuthentication
# description: >-
#   The mesh stack must own the PeerAuthentication in the Istio root namespace, without selector,
#   mode STRICT.
# custom:
#   id: MAESTRO-MESH-002
#   severity: high
#   control: "runbook helm-conftest: STRICT mTLS mesh-wide"
#   fix: Add a PeerAuthentication named default in the Istio root namespace with spec.mtls.mode STRICT and no selector.
deny contains v if {
	input.stack == "mesh"
	not mesh_wide_strict
	v := lib.violation(
		rego.metadata.rule(),
		"stack mesh",
		concat("", ["no PeerAuthentication in ", lib.str(root_namespace), " without selector and with mtls.mode STRICT"]),
	)
}

mesh_wide_strict if {
	some item in k8s.objects_of_kind("PeerAuthentication")
	item.object.metadata.namespace == root_namespace
	not item.object.spec.selector
	item.object.spec.mtls.mode == "STRICT"
}

# METADATA
# title: DestinationRule TLS is not ISTIO_MUTUAL
# description: Traffic policies that set TLS must use Istio's mutual TLS with mesh certificates.
# custom:
#   id: MAESTRO-MESH-003
#   severity: high
#   control: "runbook helm-conftest: DestinationRule ISTIO_MUTUAL"
#   fix: Set tls.mode ISTIO_MUTUAL (and drop client certificates) in every traffic policy of the DestinationRule.
deny contains v if {
	some item in k8s.objects_of_kind("DestinationRule")
	some path, mode in tls_modes(item.object.spec)
	mode != "ISTIO_MUTUAL"
	v := lib.violation(
		rego.metadata.rule(),
		item.address,
		concat("", [lib.str(k8s.name(item.object)), " sets ", lib.str(path), " to ", lib.str(mode)]),
	)
}

# tls_modes maps the path of every tls.mode in a DestinationRule to its value.
tls_modes(spec) := {path: mode |
	some prefix, policy in traffic_policies(spec)
	some suffix, tls in tls_blocks(policy)
	path := concat("", [prefix, suffix, ".mode"])
	mode := object.get(tls, "mode", "DISABLE")
}

traffic_policies(spec) := object.union(
	{"spec.trafficPolicy": p | p := spec.trafficPolicy},
	{concat("", ["spec.subsets[", lib.str(i), "].trafficPolicy"]): s.trafficPolicy |
		some i, s in spec.subsets
		s.trafficPolicy
	},
)

tls_blocks(policy) := object.union(
	{".tls": t | t := policy.tls},
	{concat("", [".portLevelSettings[", lib.str(i), "].tls"]): p.tls | some i, p in policy.portLevelSettings; p.tls},
)

# METADATA
# title: Mesh namespace lacks a deny-by-default AuthorizationPolicy
# description: >-
#   Every namespace with mesh services (config mesh.services) is covered by an empty ALLOW policy, in the
#   namespace itself or mesh-wide in the Istio root namespace: requests no other policy allows are denied.
# custom:
#   id: MAESTRO-MESH-004
#   severity: high
#   control: "runbook: deny-by-default AuthorizationPolicy with SPIFFE allow-lists"
#   fix: >-
#     Add an AuthorizationPolicy with an empty spec (no selector, no rules) in the namespace
#     (MeshMtls protectedNamespaces).
deny contains v if {
	input.stack == "mesh"
	not namespaces_denying_all[root_namespace]
	some namespace in input.parameters.mesh.workloadNamespaces
	not namespaces_denying_all[namespace]
	v := lib.violation(
		rego.metadata.rule(),
		"stack mesh",
		concat("", ["no AuthorizationPolicy with an empty spec (allow-nothing) in ", namespace, " or ", root_namespace]),
	)
}

# namespaces_denying_all: namespaces holding an allow-nothing AuthorizationPolicy for all their
# workloads (no `deny` prefix: conftest would read a rule named deny* as a deny rule).
namespaces_denying_all contains item.object.metadata.namespace if {
	some item in k8s.objects_of_kind("AuthorizationPolicy")
	spec := object.get(item.object, "spec", {})
	not spec.selector
	not spec.targetRef
	not spec.targetRefs
	count(object.get(spec, "rules", [])) == 0
	object.get(spec, "action", "ALLOW") == "ALLOW"
}

# METADATA
# title: AuthorizationPolicy lets any source in
# description: An ALLOW rule must name its sources by SPIFFE principal or namespace, without wildcards.
# custom:
#   id: MAESTRO-MESH-005
#   severity: high
#   control: "runbook: deny-by-default AuthorizationPolicy with SPIFFE allow-lists"
#   fix: Give every ALLOW rule a from.source with explicit principals (cluster.local/ns/<ns>/sa/<sa>), no "*".
deny contains v if {
	some item in k8s.objects_of_kind("AuthorizationPolicy")
	object.get(item.object.spec, "action", "ALLOW") == "ALLOW"
	some i, rule in object.get(item.object.spec, "rules", [])
	some problem in open_sources(rule)
	v := lib.violation(
		rego.metadata.rule(),
		item.address,
		concat("", [lib.str(k8s.name(item.object)), " spec.rules[", lib.str(i), "] ", lib.str(problem)]),
	)
}

open_sources(rule) := {"has no from: any source is allowed"} if count(object.get(rule, "from", [])) == 0

open_sources(rule) := {concat("", ["from[", lib.str(j), "] ", lib.str(problem)]) |
	some j, f in rule.from
	some problem in source_problems(object.get(f, "source", {}))
} if count(object.get(rule, "from", [])) > 0

source_problems(source) := {"names no principals or namespaces"} if {
	count(object.get(source, "principals", [])) + count(object.get(source, "namespaces", [])) == 0
}

source_problems(source) := {concat("", ["uses the wildcard ", lib.quote(value)]) |
	some field in ["principals", "namespaces"]
	some value in object.get(source, field, [])
	contains(value, "*")
} if {
	count(object.get(source, "principals", [])) + count(object.get(source, "namespaces", [])) > 0
}
