package maestro.rules.rollout_test

import data.maestro.fixtures
import data.maestro.rules.rollout

rollout_object(strategy) := fixtures.manifest("kubernetes_manifest.rollout", {
	"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
	"metadata": {"name": "compliance", "namespace": "maestro"},
	"spec": {"strategy": strategy, "template": fixtures.pod_template([fixtures.container])},
})

blue_green := {"blueGreen": {
	"activeService": "compliance", "previewService": "compliance-preview",
	"prePromotionAnalysis": {"templates": [{"templateName": "slo-gate"}]},
}}

deny_ids(stack, objects) := ids if {
	denies := rollout.deny with input as fixtures.stack(stack, {"kubernetes": objects})
	ids := fixtures.ids(denies)
}

test_blue_green_rollout_with_analysis_passes if {
	deny_ids("app", [rollout_object(blue_green)]) == set()
}

test_rollout_001_deployment_in_app_stack_is_denied if {
	deployment := {"address": "kubernetes_deployment_v1.web", "source": "kubernetes_deployment_v1", "object": {
		"kind": "Deployment", "metadata": {"name": "web", "namespace": "maestro"},
		"spec": {"template": fixtures.pod_template([fixtures.container])},
	}}
	deny_ids("app", [rollout_object(blue_green), deployment]) == {"MAESTRO-ROLLOUT-001"}
	deny_ids("gateway", [deployment]) == set()
}

test_rollout_002_canary_is_denied if {
	deny_ids("app", [rollout_object({"canary": {"steps": [{"setWeight": 20}]}})]) == {"MAESTRO-ROLLOUT-002"}
}

test_rollout_003_blue_green_without_analysis_is_denied if {
	ungated := rollout_object({"blueGreen": {"activeService": "compliance", "autoPromotionEnabled": true}})
	deny_ids("app", [ungated]) == {"MAESTRO-ROLLOUT-003"}
}

test_rollout_004_app_stack_without_rollout_is_denied if {
	deny_ids("app", []) == {"MAESTRO-ROLLOUT-004"}
	deny_ids("backup", []) == set()
}
