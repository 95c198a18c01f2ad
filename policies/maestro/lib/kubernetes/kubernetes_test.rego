package maestro.lib.kubernetes_test

import data.maestro.lib.kubernetes as k8s

test_pod_template_of_each_kind if {
	pod := {"metadata": {"name": "p"}, "spec": {"containers": []}}
	template := {"spec": {"containers": []}}
	k8s.pod_template({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": template}}}}) == template
	k8s.pod_template(object.union(pod, {"kind": "Pod"})) == pod
	k8s.pod_template({"kind": "Deployment", "spec": {"template": {"spec": {}}}}) == {"spec": {}}
}
