package maestro.lib_test

import data.maestro.lib

test_one_reads_object_or_first_item if {
	lib.one([{"a": 1}]) == {"a": 1}
	lib.one({"a": 1}) == {"a": 1}
}

test_refers_to_matches_references_and_literal_names if {
	lib.refers_to("${aws_s3_bucket.b.id}", "aws_s3_bucket.b", "name")
	lib.refers_to("name", "aws_s3_bucket.b", "name")
	not lib.refers_to("${aws_s3_bucket.other.id}", "aws_s3_bucket.b", "name")
}

test_str_renders_values_like_both_engines if {
	lib.str("x") == "x"
	lib.str(30) == "30"
	lib.quote("x") == `"x"`
}

test_violation_without_metadata_still_reports if {
	v := lib.violation({}, "r", "m") with input as {"stack": "s"}
	v.rule == "MAESTRO-METADATA-MISSING"
	v.stack == "s"
	v.msg == "MAESTRO-METADATA-MISSING r: m"
}
