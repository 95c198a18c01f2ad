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
	"prePromotionAnalysis": {
		"templates": [{"templateName": "slo-gate"}],
		"args": [{"name": "service-name", "value": "compliance-preview"}],
	},
}}

deny_ids(stack, objects) := ids if {
	denies := rollout.deny with input as fixtures.stack(stack, {"kubernetes": objects})
	ids := fixtures.ids(denies)
}

test_blue_green_rollout_with_analysis_passes if {
	deny_ids("app", [rollout_object(blue_green), template_object("slo-gate", declared_args)]) == set()
}

test_rollout_001_deployment_in_app_stack_is_denied if {
	deployment := {"address": "kubernetes_deployment_v1.web", "source": "kubernetes_deployment_v1", "object": {
		"kind": "Deployment", "metadata": {"name": "web", "namespace": "maestro"},
		"spec": {"template": fixtures.pod_template([fixtures.container])},
	}}
	deny_ids("app", [
		rollout_object(blue_green),
		template_object("slo-gate", declared_args),
		deployment,
	]) == {"MAESTRO-ROLLOUT-001"}
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

template_object(name, args) := fixtures.manifest(concat("", ["kubernetes_manifest.", name]), {
	"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate",
	"metadata": {"name": name, "namespace": "maestro"},
	"spec": {"args": args, "metrics": [{"name": "slo", "provider": {"job": {"spec": {"template": {"spec": {
		"restartPolicy": "Never",
		"containers": [object.union(fixtures.container, {"args": [
			"--service",
			"{{args.service-name}}",
			"--prometheus",
			"{{args.prometheus-url}}",
		]})],
	}}}}}}]},
})

gated(analysis_args) := {"blueGreen": {
	"activeService": "compliance", "previewService": "compliance-preview",
	"prePromotionAnalysis": {"templates": [{"templateName": "slo-gate"}], "args": analysis_args},
	"postPromotionAnalysis": {"templates": [{"templateName": "slo-gate"}], "args": analysis_args},
}}

declared_args := [{"name": "service-name"}, {"name": "prometheus-url", "value": "http://prometheus:9090"}]

test_rollout_005_006_matching_template_and_args_pass if {
	deny_ids("app", [
		rollout_object(gated([{"name": "service-name", "value": "compliance-preview"}])),
		template_object("slo-gate", declared_args),
	]) == set()
}

test_rollout_005_missing_template_is_denied_quoting_the_controller if {
	denies := rollout.deny with input as fixtures.stack(
		"app",
		{"kubernetes": [rollout_object(gated([{"name": "service-name", "value": "x"}]))]},
	)
	fixtures.ids(denies) == {"MAESTRO-ROLLOUT-005"}
	some v in denies
	contains(
		v.message,
		"spec.strategy.blueGreen.prePromotionAnalysis.templates[0] names AnalysisTemplate maestro/slo-gate",
	)
	contains(v.message, "AnalysisTemplate 'slo-gate' not found")
}

test_rollout_006_unresolved_arg_is_denied_quoting_the_controller if {
	denies := rollout.deny with input as fixtures.stack("app", {"kubernetes": [
		rollout_object(gated([])),
		template_object("slo-gate", declared_args),
	]})
	fixtures.ids(denies) == {"MAESTRO-ROLLOUT-006"}
	some v in denies
	contains(
		v.message,
		concat("", [
			"arg service-name is declared without a value and not passed ",
			"(the controller: \"args.service-name was not resolved\")",
		]),
	)
}

test_rollout_006_undeclared_arg_is_denied if {
	objects := [
		rollout_object(gated([
			{"name": "service-name", "value": "x"},
			{"name": "service", "value": "x"},
		])),
		template_object("slo-gate", declared_args),
	]
	denies := rollout.deny with input as fixtures.stack("app", {"kubernetes": objects})
	fixtures.ids(denies) == {"MAESTRO-ROLLOUT-006"}
	some v in denies
	contains(v.message, "arg service is passed but the template does not declare it")
}

test_rollout_006_template_using_an_undeclared_arg_is_denied if {
	objects := [
		rollout_object(gated([{"name": "service-name", "value": "x"}])),
		template_object("slo-gate", [{"name": "service-name"}]),
	]
	denies := rollout.deny with input as fixtures.stack("app", {"kubernetes": objects})
	fixtures.ids(denies) == {"MAESTRO-ROLLOUT-006"}
	some v in denies
	contains(v.message, "{{args.prometheus-url}} is used by the template but not declared in its spec.args")
}
