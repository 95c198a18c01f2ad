package maestro.gate_test

import data.maestro.fixtures
import data.maestro.gate

test_result_collects_denies_and_warnings_of_every_package if {
	unresolved := {"address": "aws_iam_policy.p", "attribute": "policy", "unresolved": "${jsonencode(x)}"}
	stack := fixtures.stack("mesh", {"iam_documents": [unresolved]})
	r := gate.result with input as stack
	{v.rule | some v in r.deny} == {"MAESTRO-MESH-002", "MAESTRO-MESH-004"}
	[v.rule | some v in r.warn] == ["MAESTRO-IAM-W01"]
	some v in r.deny
	v.stack == "mesh"
	v.severity == "high"
	v.fix != ""
}
