# Fixtures shared by the policy tests: inputs shaped like policy-engine/input.ts builds them.
package maestro.fixtures

parameters := {
	"environment": "staging",
	"audit": {"bucketName": "audit-b", "retentionDays": 30, "mode": "COMPLIANCE"},
	"backup": {"bucketName": "backup-b"},
	"mesh": {"trustDomain": "cluster.local", "rootNamespace": "istio-system", "workloadNamespaces": ["maestro", "maestro-data"]},
}

# stack returns an input for one stack with the given fields replaced.
stack(name, fields) := object.union(
	{
		"stack": name, "parameters": parameters, "resources": {}, "data": {},
		"kubernetes": [], "helm_releases": [], "iam_documents": [], "outputs": {},
	},
	fields,
)

manifest(address, object) := {"address": address, "source": "kubernetes_manifest", "object": object}

# ids returns the rule ids of a set of violations.
ids(violations) := {v.rule | some v in violations}

container := {
	"name": "app",
	"image": "ghcr.io/maestro/app:1.0.0",
	"securityContext": {"runAsNonRoot": true, "runAsUser": 1000},
	"resources": {"limits": {"cpu": "1", "memory": "512Mi"}},
}

pod_template(containers) := {
	"metadata": {"annotations": {"policy.maestro.io/bundle-signature-required": "true"}},
	"spec": {"containers": containers},
}
