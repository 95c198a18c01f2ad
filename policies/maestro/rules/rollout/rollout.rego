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
