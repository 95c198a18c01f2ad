package maestro.gate_test

import data.maestro.gate

test_result_collects_denies_of_every_package if {
	r := gate.result with input as {
		"stack": "mesh",
		"parameters": {"mesh": {"rootNamespace": "istio-system"}, "audit": {"bucketName": "b", "retentionDays": 1}},
		"resources": {},
		"kubernetes": [],
		"helm_releases": [],
		"iam_documents": [{"address": "aws_iam_policy.p", "attribute": "policy", "unresolved": "${jsonencode(x)}"}],
		"outputs": {},
	}
	{v.rule | some v in r.deny} == {"MAESTRO-MESH-002", "MAESTRO-MESH-004"}
	[v.rule | some v in r.warn] == ["MAESTRO-IAM-W01"]
}
