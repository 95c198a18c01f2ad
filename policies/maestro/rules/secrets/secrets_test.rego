package maestro.rules.secrets_test

import data.maestro.fixtures
import data.maestro.rules.secrets

deny_messages(fields) := {v.message | some v in r} if {
	r := secrets.deny with input as fixtures.stack("gateway", fields)
}

test_references_and_names_pass if {
	secret := {"metadata": {"name": "oidc"}, "data": {"client-secret": "${random_password.p.result}"}}
	deny_messages({
		"resources": {"kubernetes_secret_v1": {"s": secret}},
		"kubernetes": [{
			"address": "kubernetes_secret_v1.s",
			"source": "kubernetes_secret_v1",
			"object": object.union(secret, {"kind": "Secret"}),
		}],
		"helm_releases": [{
			"address": "helm_release.proxy",
			"values": [{"config": {"existingSecret": "oidc", "clientSecret": ""}}],
			"set": [],
			"set_sensitive": [{"name": "x", "value": "${var.x}"}],
		}],
	}) == set()
}

test_sec_001_private_key_in_a_resource_is_denied if {
	config_map := {"c": {"data": {"key.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIE..."}}}
	deny_messages({"resources": {"kubernetes_config_map_v1": config_map}}) == {"data.key.pem holds a PEM private key"}
}

test_sec_001_access_key_and_url_password_are_denied if {
	access_key := deny_messages({"resources": {"aws_ssm_parameter": {"p": {"value": "AKIAABCDEFGHIJKLMNOP"}}}})
	access_key == {"value holds an AWS access key id"}
	release := {"h": {"values": ["{\"url\":\"postgres://app:hunter2@db:5432/x\"}"]}}
	url := deny_messages({"resources": {"helm_release": release}})
	url == {"values.0 holds a password in a URL"}
	token := deny_messages({"outputs": {"token": {"value": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}}})
	token == {"holds a GitHub token"}
}

test_sec_002_secret_with_literal_data_is_denied if {
	deny_messages({"kubernetes": [{
		"address": "kubernetes_manifest.s",
		"source": "kubernetes_manifest",
		"object": {
			"kind": "Secret",
			"metadata": {"name": "s", "namespace": "maestro"},
			"stringData": {"password": "hunter2"},
		},
	}]}) == {"Secret maestro/s has a literal stringData.password"}
}

test_sec_003_secret_named_env_with_literal_value_is_denied if {
	c := object.union(fixtures.container, {"env": [
		{"name": "DB_PASSWORD", "value": "hunter2"},
		{"name": "TOKEN_FILE", "value": "/var/run/token"},
		{"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "k"}}},
	]})
	w := {"address": "kubernetes_deployment_v1.w", "source": "kubernetes_deployment_v1", "object": {
		"kind": "Deployment",
		"metadata": {"name": "w", "namespace": "maestro-gateway"},
		"spec": {"template": fixtures.pod_template([c])},
	}}
	messages := deny_messages({"kubernetes": [w]})
	messages == {"Deployment maestro-gateway/w containers[0] env DB_PASSWORD has a literal value"}
}

test_sec_004_helm_secret_values_are_denied if {
	deny_messages({"helm_releases": [{
		"address": "helm_release.proxy",
		"values": [{"config": {"clientSecret": "s3cr3t", "cookieSecret": "${var.cookie}"}}],
		"set": [],
		"set_sensitive": [{"name": "config.cookieSecret", "value": "abc"}],
	}]}) == {
		"values[0].config.clientSecret has a literal value",
		"set_sensitive config.cookieSecret has a literal value",
	}
}
