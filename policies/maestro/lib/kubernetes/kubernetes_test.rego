package maestro.lib.kubernetes_test

import data.maestro.lib.kubernetes as k8s

test_pod_template_of_each_kind if {
	k8s.pod_template({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}}) == {"spec": {"containers": []}}
	k8s.pod_template({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}) == {"metadata": {"name": "p"}, "spec": {"containers": []}}
	k8s.pod_template({"kind": "Deployment", "spec": {"template": {"spec": {}}}}) == {"spec": {}}
}
