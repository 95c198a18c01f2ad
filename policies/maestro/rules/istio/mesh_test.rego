package maestro.rules.istio_test

import data.maestro.fixtures
import data.maestro.rules.istio

pa(ns, spec) := fixtures.manifest(concat("", ["kubernetes_manifest.pa-", ns]), {
	"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
	"metadata": {"name": "default", "namespace": ns}, "spec": spec,
})

ap(ns, name, spec) := fixtures.manifest(concat("", ["kubernetes_manifest.ap-", ns, "-", name]), {
	"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
	"metadata": {"name": name, "namespace": ns}, "spec": spec,
})

dr(spec) := fixtures.manifest("kubernetes_manifest.dr", {
	"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
	"metadata": {"name": "default", "namespace": "istio-system"}, "spec": spec,
})

allow_gateway := {
	"selector": {"matchLabels": {"app": "compliance"}},
	"rules": [{"from": [{"source": {"principals": ["cluster.local/ns/maestro-gateway/sa/oauth2-proxy"]}}]}],
}

good_mesh := [
	pa("istio-system", {"mtls": {"mode": "STRICT"}}),
	dr({"host": "*.local", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}),
	ap("maestro", "deny-by-default", {}),
	ap("maestro-data", "deny-by-default", {}),
	ap("maestro", "allow-gateway", allow_gateway),
]

deny_ids(objects) := ids if {
	denies := istio.deny with input as fixtures.stack("mesh", {"kubernetes": objects})
	ids := fixtures.ids(denies)
}

# with_good returns the good mesh plus more objects.
with_good(objects) := array.concat(good_mesh, objects)

# messages_in lists the deny messages for objects in a stack.
messages_in(stack, objects) := messages if {
	denies := istio.deny with input as fixtures.stack(stack, {"kubernetes": objects})
	messages := [v.message | some v in denies]
}

test_good_mesh_passes if {
	deny_ids(good_mesh) == set()
}

test_mesh_001_permissive_namespace_is_denied if {
	deny_ids(with_good([pa("maestro", {"mtls": {"mode": "PERMISSIVE"}})])) == {"MAESTRO-MESH-001"}
}

test_mesh_001_port_level_disable_is_denied if {
	port_disabled := pa("maestro", {"mtls": {"mode": "STRICT"}, "portLevelMtls": {"8080": {"mode": "DISABLE"}}})
	messages := messages_in("app", [port_disabled])
	messages == ["PeerAuthentication maestro/default sets spec.portLevelMtls[8080].mode to DISABLE"]
}

test_mesh_001_unset_mode_inherits_and_passes if {
	deny_ids(with_good([pa("maestro", {"mtls": {"mode": "UNSET"}})])) == set()
}

test_mesh_002_mesh_stack_without_mesh_wide_strict_is_denied if {
	deny_ids(array.slice(good_mesh, 1, 5)) == {"MAESTRO-MESH-002"}
	selected := pa("istio-system", {"mtls": {"mode": "STRICT"}, "selector": {"matchLabels": {"app": "x"}}})
	deny_ids(array.concat(array.slice(good_mesh, 1, 5), [selected])) == {"MAESTRO-MESH-002"}
}

test_mesh_002_only_applies_to_the_mesh_stack if {
	denies := istio.deny with input as fixtures.stack("app", {"kubernetes": []})
	denies == set()
}

test_mesh_003_simple_tls_is_denied_at_every_level if {
	spec := {
		"host": "x.maestro.svc.cluster.local",
		"trafficPolicy": {
			"tls": {"mode": "SIMPLE"},
			"portLevelSettings": [{"port": {"number": 8080}, "tls": {"mode": "DISABLE"}}],
		},
		"subsets": [{"name": "v1", "trafficPolicy": {"tls": {"mode": "MUTUAL"}}}],
	}
	denies := istio.deny with input as fixtures.stack("mesh", {"kubernetes": array.concat(good_mesh, [dr(spec)])})
	{v.message | some v in denies} == {
		"DestinationRule istio-system/default sets spec.trafficPolicy.tls.mode to SIMPLE",
		"DestinationRule istio-system/default sets spec.trafficPolicy.portLevelSettings[0].tls.mode to DISABLE",
		"DestinationRule istio-system/default sets spec.subsets[0].trafficPolicy.tls.mode to MUTUAL",
	}
}

test_mesh_004_namespace_without_deny_all_is_denied if {
	messages := messages_in("mesh", [good_mesh[0], good_mesh[1], good_mesh[2], good_mesh[4]])
	messages == ["no AuthorizationPolicy with an empty spec (allow-nothing) in maestro-data or istio-system"]
}

test_mesh_004_mesh_wide_deny_all_covers_every_namespace if {
	deny_ids([good_mesh[0], ap("istio-system", "deny-all", {})]) == set()
}

test_mesh_004_policy_with_rules_is_not_deny_all if {
	with_rules := ap("maestro", "deny-by-default", allow_gateway)
	deny_ids([good_mesh[0], with_rules, ap("maestro-data", "deny-by-default", {})]) == {"MAESTRO-MESH-004"}
}

test_mesh_005_rule_without_from_is_denied if {
	open := ap("maestro", "open", {"rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]})
	deny_ids(with_good([open])) == {"MAESTRO-MESH-005"}
}

test_mesh_005_wildcard_principal_is_denied if {
	wild := ap("maestro", "wild", {"rules": [{"from": [{"source": {"principals": ["*"]}}]}]})
	messages := messages_in("mesh", with_good([wild]))
	messages == [`AuthorizationPolicy maestro/wild spec.rules[0] from[0] uses the wildcard "*"`]
}

test_mesh_005_source_without_principals_is_denied if {
	ip_only := ap("maestro", "ip", {"rules": [{"from": [{"source": {"ipBlocks": ["0.0.0.0/0"]}}]}]})
	deny_ids(with_good([ip_only])) == {"MAESTRO-MESH-005"}
}

test_mesh_005_deny_action_may_match_anything if {
	deny_ids(with_good([ap("maestro", "deny-x", {"action": "DENY", "rules": [{}]})])) == set()
}
