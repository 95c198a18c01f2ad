# METADATA
# title: Progressive delivery of the app
# description: The app's workloads are Argo Rollouts with blue/green and a gating analysis.
package maestro.rules.rollout

import data.maestro.lib
import data.maestro.lib.kubernetes as k8s

# METADATA
# title: App workload is a Deployment, not an Argo Rollout
# description: A Deployment in the app stack replaces pods without the SLO-gated blue/green promotion.
# custom:
#   id: MAESTRO-ROLLOUT-001
#   severity: high
#   control: "runbook helm-conftest: Rollout"
#   fix: Build the workload as an argoproj.io/v1alpha1 Rollout (constructs' blue/green rollout) instead of a Deployment.
deny contains v if {
	input.stack == "app"
	some item in k8s.objects_of_kind("Deployment")
	message := concat("", [lib.str(k8s.name(item.object)), " is a Deployment"])
	v := lib.violation(rego.metadata.rule(), item.address, message)
}

# METADATA
# title: Rollout does not use the blue/green strategy
# description: Every Rollout switches traffic blue/green, so the old version serves until the new one is promoted.
# custom:
#   id: MAESTRO-ROLLOUT-002
#   severity: high
#   control: "runbook: blue/green, SLO-gated promotion"
#   fix: Set spec.strategy.blueGreen with activeService and previewService.
deny contains v if {
	some item in k8s.objects_of_kind("Rollout")
	not item.object.spec.strategy.blueGreen
	v := lib.violation(
		rego.metadata.rule(),
		item.address,
		concat("", [lib.str(k8s.name(item.object)), " has no spec.strategy.blueGreen"]),
	)
}

# METADATA
# title: Blue/green Rollout has no gating analysis
# description: Promotion must wait for a pre-promotion analysis (the SLO gate), not happen on a timer.
# custom:
#   id: MAESTRO-ROLLOUT-003
#   severity: high
#   control: "runbook: blue/green, SLO-gated promotion"
#   fix: Set spec.strategy.blueGreen.prePromotionAnalysis.templates to the SLO AnalysisTemplate.
deny contains v if {
	some item in k8s.objects_of_kind("Rollout")
	blue_green := item.object.spec.strategy.blueGreen
	count(object.get(blue_green, ["prePromotionAnalysis", "templates"], [])) == 0
	v := lib.violation(
		rego.metadata.rule(),
		item.address,
		concat("", [lib.str(k8s.name(item.object)), " has no spec.strategy.blueGreen.prePromotionAnalysis.templates"]),
	)
}

# METADATA
# title: App stack has no Argo Rollout
# description: The compliance service ships as a Rollout; an app stack without one deploys it some other way.
# custom:
#   id: MAESTRO-ROLLOUT-004
#   severity: high
#   control: "runbook helm-conftest: Rollout"
#   fix: Deploy the compliance service in the app stack as an argoproj.io/v1alpha1 Rollout.
deny contains v if {
	input.stack == "app"
	count(k8s.objects_of_kind("Rollout")) == 0
	v := lib.violation(rego.metadata.rule(), "stack app", "the app stack contains no Rollout")
}

# The analyses of a Rollout's blue/green strategy, with their field path and template names.
analyses(rollout_object) := [a |
	some phase in ["prePromotionAnalysis", "postPromotionAnalysis"]
	analysis := rollout_object.spec.strategy.blueGreen[phase]
	a := {"path": concat(".", ["spec.strategy.blueGreen", phase]), "analysis": analysis}
]

# templates_in(namespace) maps the names of the stack's AnalysisTemplates in a namespace to them.
templates_in(namespace) := {name: t |
	some item in k8s.objects_of_kind("AnalysisTemplate")
	object.get(item.object.metadata, "namespace", "") == namespace
	t := item.object
	name := t.metadata.name
}

# METADATA
# title: Rollout names an AnalysisTemplate the stack does not define
# description: >-
#   Argo Rollouts refuses such a Rollout at run time (InvalidSpec: "AnalysisTemplate '<name>' not
#   found") and never promotes it; the app stack ships its templates itself.
# custom:
#   id: MAESTRO-ROLLOUT-005
#   severity: high
#   control: "runbook: blue/green, SLO-gated promotion"
#   fix: >-
#     Name an AnalysisTemplate of the same stack and namespace in templates[].templateName
#     (BlueGreenRollout's sloGate prop creates it).
deny contains v if {
	some item in k8s.objects_of_kind("Rollout")
	namespace := object.get(item.object.metadata, "namespace", "")
	some a in analyses(item.object)
	some i, ref in object.get(a.analysis, "templates", [])
	not templates_in(namespace)[ref.templateName]
	v := lib.violation(rego.metadata.rule(), item.address, sprintf(
		concat("", [
			"%s: %s.templates[%d] names AnalysisTemplate %s/%s, which the stack does not define ",
			"(the controller: \"AnalysisTemplate '%s' not found\")",
		]),
		[k8s.name(item.object), a.path, i, namespace, lib.str(ref.templateName), lib.str(ref.templateName)],
	))
}

# METADATA
# title: Rollout's analysis args do not match the AnalysisTemplate's declared args
# description: >-
#   A declared arg without a value that the Rollout does not pass leaves the analysis unresolved
#   (the controller: "args.<name> was not resolved"); an arg the Rollout passes that the template
#   does not declare is dropped without a word, so the value meant for the gate never reaches it;
#   a {{args.<name>}} the template uses but does not declare cannot be resolved either.
# custom:
#   id: MAESTRO-ROLLOUT-006
#   severity: high
#   control: "runbook: blue/green, SLO-gated promotion"
#   fix: >-
#     Make the Rollout's analysis args and the template's spec.args the same names; give every
#     declared arg a value in one of them.
deny contains v if {
	some item in k8s.objects_of_kind("Rollout")
	namespace := object.get(item.object.metadata, "namespace", "")
	some a in analyses(item.object)
	some ref in object.get(a.analysis, "templates", [])
	template := templates_in(namespace)[ref.templateName]
	some problem in arg_problems(a.analysis, template)
	v := lib.violation(rego.metadata.rule(), item.address, sprintf(
		"%s: %s with AnalysisTemplate %s: %s",
		[k8s.name(item.object), a.path, lib.str(ref.templateName), problem],
	))
}

arg_problems(analysis, template) := problems if {
	declared := {arg.name | some arg in object.get(template.spec, "args", [])}
	passed := {arg.name | some arg in object.get(analysis, "args", [])}
	unresolved := {sprintf(
		"arg %s is declared without a value and not passed (the controller: \"args.%s was not resolved\")",
		[name, name],
	) |
		some arg in object.get(template.spec, "args", [])
		not arg.value
		not arg.valueFrom
		name := arg.name
		not name in passed
	}
	undeclared := {sprintf(
		"arg %s is passed but the template does not declare it (the controller drops it without a word)",
		[name],
	) |
		some name in passed
		not name in declared
	}
	used := {name |
		walk(template.spec.metrics, [_, value])
		is_string(value)
		some match in regex.find_all_string_submatch_n(`\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}`, value, -1)
		name := match[1]
	}
	unknown := {sprintf("{{args.%s}} is used by the template but not declared in its spec.args", [name]) |
		some name in used
		not name in declared
	}
	problems := (unresolved | undeclared) | unknown
}
