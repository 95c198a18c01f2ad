package maestro.rules.kubernetes_test

import data.maestro.fixtures
import data.maestro.rules.kubernetes

workload(kind, template) := {
	"address": concat("", ["kubernetes_", lower(kind), "_v1.w"]),
	"source": "typed",
	"object": {"kind": kind, "metadata": {"name": "w", "namespace": "maestro"}, "spec": {"template": template}},
}

with_container(c) := workload("StatefulSet", fixtures.pod_template([c]))

denies_for(stack, objects) := denies if {
	denies := kubernetes.deny with input as fixtures.stack(stack, {"kubernetes": objects})
}

# messages_for lists the messages of the denies for objects in a stack.
messages_for(stack, objects) := [v.message | some v in denies_for(stack, objects)]

test_hardened_workload_passes if {
	denies_for("app", [with_container(fixtures.container)]) == set()
}

test_k8s_001_container_without_run_as_non_root_is_denied if {
	c := object.remove(fixtures.container, ["securityContext"])
	messages := messages_for("backup", [with_container(c)])
	messages == ["StatefulSet maestro/w containers[0] (app) does not set runAsNonRoot: true"]
}

test_k8s_001_pod_level_run_as_non_root_counts if {
	c := object.remove(fixtures.container, ["securityContext"])
	template := {"metadata": {}, "spec": {"securityContext": {"runAsNonRoot": true}, "containers": [c]}}
	denies_for("backup", [workload("StatefulSet", template)]) == set()
}

test_k8s_001_container_overriding_pod_non_root_is_denied if {
	c := object.union(fixtures.container, {"securityContext": {"runAsNonRoot": false}})
	template := {"metadata": {}, "spec": {"securityContext": {"runAsNonRoot": true}, "containers": [c]}}
	fixtures.ids(denies_for("backup", [workload("StatefulSet", template)])) == {"MAESTRO-K8S-001"}
}

test_k8s_001_run_as_user_zero_is_denied if {
	c := object.union(fixtures.container, {"securityContext": {"runAsNonRoot": true, "runAsUser": "0"}})
	messages_for("backup", [with_container(c)]) == ["StatefulSet maestro/w containers[0] (app) sets runAsUser 0"]
}

test_k8s_001_init_containers_and_cron_jobs_are_checked if {
	c := object.remove(fixtures.container, ["securityContext"])
	cron := {"address": "kubernetes_cron_job_v1.c", "source": "kubernetes_cron_job_v1", "object": {
		"kind": "CronJob", "metadata": {"name": "c", "namespace": "maestro-data"},
		"spec": {"jobTemplate": {"spec": {"template": {
			"metadata": {},
			"spec": {"initContainers": [c], "containers": [fixtures.container]},
		}}}},
	}}
	messages_for("backup", [cron]) == ["CronJob maestro-data/c initContainers[0] (app) does not set runAsNonRoot: true"]
}

test_k8s_002_container_without_limits_is_denied if {
	c := object.remove(fixtures.container, ["resources"])
	{v.message | some v in denies_for("backup", [with_container(c)])} == {
		"StatefulSet maestro/w containers[0] (app) has no resources.limits.memory",
		"StatefulSet maestro/w containers[0] (app) has neither resources.limits.cpu nor resources.requests.cpu",
	}
}

test_k8s_002_cpu_request_stands_in_for_a_cpu_limit if {
	c := object.union(fixtures.container, {"resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "250m"}}})
	denies_for("backup", [with_container(c)]) == set()
}

test_k8s_003_rollout_without_annotation_is_denied_in_any_stack if {
	rollout := {"address": "kubernetes_manifest.r", "source": "kubernetes_manifest", "object": {
		"kind": "Rollout", "metadata": {"name": "r", "namespace": "maestro"},
		"spec": {"template": {"metadata": {}, "spec": {"containers": [fixtures.container]}}},
	}}
	fixtures.ids(denies_for("gateway", [rollout])) == {"MAESTRO-K8S-003"}
}

signature_required(value) := {"policy.maestro.io/bundle-signature-required": value}

test_k8s_003_annotation_on_workload_metadata_counts if {
	w := workload("Deployment", {"metadata": {}, "spec": {"containers": [fixtures.container]}})
	annotated := object.union(w, {"object": {"metadata": {"annotations": signature_required("true")}}})
	fixtures.ids(denies_for("app", [w])) == {"MAESTRO-K8S-003"}
	denies_for("app", [annotated]) == set()
	denies_for("backup", [w]) == set()
}

test_k8s_003_annotation_must_be_true if {
	w := workload("Deployment", {
		"metadata": {"annotations": signature_required("false")},
		"spec": {"containers": [fixtures.container]},
	})
	fixtures.ids(denies_for("app", [w])) == {"MAESTRO-K8S-003"}
}

test_k8s_004_wildcard_role_is_denied if {
	role := {"address": "kubernetes_cluster_role_v1.r", "source": "kubernetes_cluster_role_v1", "object": {
		"kind": "ClusterRole", "metadata": {"name": "r"},
		"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}],
	}}
	messages_for("gateway", [role]) == [`ClusterRole /r rules[0].verbs contains "*"`]
}

test_k8s_004_named_verbs_pass if {
	role := {"address": "kubernetes_role_v1.r", "source": "kubernetes_role_v1", "object": {
		"kind": "Role", "metadata": {"name": "r", "namespace": "maestro"},
		"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
	}}
	denies_for("gateway", [role]) == set()
}

test_k8s_005_cluster_admin_binding_is_denied if {
	binding := {
		"address": "kubernetes_cluster_role_binding_v1.b",
		"source": "kubernetes_cluster_role_binding_v1",
		"object": {
			"kind": "ClusterRoleBinding", "metadata": {"name": "b"},
			"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
		},
	}
	fixtures.ids(denies_for("gateway", [binding])) == {"MAESTRO-K8S-005"}
}

test_k8s_006_allow_unsigned_policy_true_is_denied if {
	bad := object.union(fixtures.container, {"env": [{"name": "ALLOW_UNSIGNED_POLICY", "value": "true"}]})
	good := object.union(fixtures.container, {"env": [{"name": "ALLOW_UNSIGNED_POLICY", "value": "false"}]})
	messages := messages_for("backup", [with_container(bad)])
	messages == [`StatefulSet maestro/w containers[0] (app) sets ALLOW_UNSIGNED_POLICY to "true"`]
	denies_for("backup", [with_container(good)]) == set()
}

test_analysis_template_jobs_are_workloads if {
	c := object.remove(fixtures.container, ["resources"])
	template := {"address": "kubernetes_manifest.at", "source": "kubernetes_manifest", "object": {
		"kind": "AnalysisTemplate", "metadata": {"name": "slo", "namespace": "maestro"},
		"spec": {"metrics": [
			{"name": "gate", "provider": {"job": {"spec": {"template": fixtures.pod_template([c])}}}},
			{"name": "prom", "provider": {"prometheus": {}}},
		]},
	}}
	{v.message | some v in denies_for("app", [template])} == {
		"Job maestro/slo/gate containers[0] (app) has no resources.limits.memory",
		"Job maestro/slo/gate containers[0] (app) has neither resources.limits.cpu nor resources.requests.cpu",
	}
}
