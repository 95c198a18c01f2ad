# METADATA
# title: Kubernetes object helpers
# description: Workloads, their pod specs and containers, however Terraform carries them.
package maestro.lib.kubernetes

import data.maestro.lib

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "Rollout"}

# workloads: every workload object of the stack, with the address of the resource carrying it.
workloads contains w if {
	some item in input.kubernetes
	item.object.kind in workload_kinds
	w := item
}

# Argo Rollouts analysis Jobs run pods too: each job metric of an AnalysisTemplate is a workload.
workloads contains w if {
	some item in input.kubernetes
	item.object.kind in {"AnalysisTemplate", "ClusterAnalysisTemplate"}
	some metric in item.object.spec.metrics
	job := metric.provider.job
	w := {"address": item.address, "source": item.source, "object": {
		"kind": "Job",
		"metadata": {
			"name": concat("/", [item.object.metadata.name, metric.name]),
			"namespace": object.get(item.object.metadata, "namespace", ""),
		},
		"spec": job.spec,
	}}
}

# objects_of_kind returns the carried objects of one kind.
objects_of_kind(kind) := [item | some item in input.kubernetes; item.object.kind == kind]

# pod_template returns the pod template (metadata + spec) of a workload.
pod_template(obj) := obj.spec.jobTemplate.spec.template if obj.kind == "CronJob"

pod_template(obj) := {"metadata": obj.metadata, "spec": obj.spec} if obj.kind == "Pod"

pod_template(obj) := obj.spec.template if not obj.kind in {"CronJob", "Pod"}

# containers returns every container and init container of a workload, with its field path.
containers(obj) := [c |
	spec := pod_template(obj).spec
	some field in ["initContainers", "containers"]
	some i, container in object.get(spec, field, [])
	c := {"path": concat("", [lib.str(field), "[", lib.str(i), "]"]), "container": container, "pod": spec}
]

# name names an object for messages: Kind namespace/name.
name(obj) := concat("", [
	lib.str(obj.kind), " ", lib.str(object.get(obj.metadata, "namespace", "")), "/",
	lib.str(obj.metadata.name),
])
