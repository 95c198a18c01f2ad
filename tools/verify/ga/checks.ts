// The GA runbook as a checklist: every line, the tool that checks it here, and the exact command
// that checks it on a cluster. Values (namespaces, buckets, thresholds) come from config/.
import type { EnvironmentConfig } from "../../../config/schema";
import { meshNamespaces } from "../../../constructs/mesh/identity";
import { scimSchedule } from "../../../constructs/gateway/scim-sync";
import * as local from "./local";
import type { Check } from "./model";

/**
 * jq over the /healthz/policy answers of every serving pod (slurped): one line when each runs a
 * signed bundle with unsigned ones refused, all the same archive; else an error saying which.
 */
export const podsRunSignedBundle =
  `def ok: .loaded and .signed and .allowUnsigned == false; ` +
  `if length == 0 then error("no pod answered") ` +
  `elif any(.[]; ok | not) then error("\\(map(select(ok | not)) | length) of \\(length) pod(s) run no signed bundle, or allow unsigned ones") ` +
  `elif (map(.sha256) | unique | length) > 1 then error("the pods run different bundles: \\(map(.sha256[0:12]) | unique | join(", "))") ` +
  `else "\\(length) pod(s) run signed bundle revision \\(.[0].revision) (archive sha256 \\(.[0].sha256[0:12])), unsigned refused" end`;

/** Every check of the runbook for one environment, in section order. */
export function checklist(config: EnvironmentConfig): Check[] {
  const ns = config.namespaces;
  const compliance = config.mesh.services.find((s) => s.name === "compliance");
  const compliancePort = compliance?.ports[0] ?? 8080;
  const complianceUrl = `http://compliance.${compliance?.namespace ?? ns.app}.svc.cluster.local:${compliancePort}`;
  const ctx = config.cluster.context;
  const kubectl = `kubectl --context ${ctx}`;
  const inside = "inside the service image built from app/Dockerfile";
  // The backup stack's CronJobs (constructs/backup: <cluster>-base-backup, <cluster>-restore-drill).
  const cronSchedule = (ns: string, name: string, schedule: string) =>
    `${kubectl} -n ${ns} get cronjob ${name} -o jsonpath='{.spec.schedule}' | grep -qxF '${schedule}'`;
  return [
    // Deployable as synthesized
    {
      id: "deploy.objects-accepted",
      section: "deploy",
      title:
        "The API server accepts every Kubernetes object of every stack as the provider sends it (server-side dry run), nothing pruned or defaulted away",
      cluster:
        `out=$(mktemp -d) && trap 'rm -rf "$out"' EXIT && CDKTF_OUTDIR=$out npm run -s synth -- --env ${config.name} > /dev/null && ` +
        `npm run -s cluster:apply -- --dry-run --context ${ctx} "$out"`,
    },

    // mTLS
    {
      id: "mtls.policies",
      section: "mtls",
      title:
        "Mesh-wide STRICT PeerAuthentication, ISTIO_MUTUAL DestinationRules, deny-by-default AuthorizationPolicy (staging and production)",
      local: (c) => local.areaRulesHold(c, ["MAESTRO-MESH-"]),
    },
    {
      id: "mtls.live-policies",
      section: "mtls",
      title: `The cluster has mesh-wide STRICT mTLS and a deny-by-default AuthorizationPolicy in ${meshNamespaces(config).join(", ")}`,
      cluster:
        `${kubectl} -n ${ns.istio} get peerauthentication default -o jsonpath='{.spec.mtls.mode}' | grep -qx STRICT && ` +
        `for n in ${meshNamespaces(config).join(" ")}; do ${kubectl} -n "$n" get authorizationpolicy deny-by-default -o json | ` +
        `jq -e '(.spec // {}) == {}' > /dev/null || { echo "no empty-spec deny-by-default in $n" >&2; exit 1; }; done && ` +
        `echo "STRICT in ${ns.istio}; deny-by-default in ${meshNamespaces(config).length} namespaces"`,
    },
    {
      id: "mtls.sidecarless-refused",
      section: "mtls",
      title: "A pod without a sidecar cannot call a mesh service in plaintext",
      needs: "a data plane (Envoy sidecars refusing plaintext)",
      cluster: `KUBE_CONTEXT=${ctx} bash tools/verify/mtls-probe.sh --url ${complianceUrl}/healthz --namespace ${ns.app}`,
    },
    {
      id: "mtls.share",
      section: "mtls",
      title: `At least ${config.mesh.mtlsThresholdPercent} % of mesh requests are mutual TLS (dashboard mtls-overview)`,
      needs: "a data plane (live mesh traffic in Prometheus)",
      cluster: `bash tools/verify/mtls-percent.sh --threshold ${config.mesh.mtlsThresholdPercent} --prometheus "\${PROMETHEUS_URL:-${config.prometheusUrl}}"`,
    },

    // Policy supply chain
    {
      id: "policy.gate.staging",
      section: "policy",
      title: "staging synthesizes and passes the policy gate (no deny)",
      local: (c) => local.synthPassesGate(c, "staging"),
    },
    {
      id: "policy.gate.production",
      section: "policy",
      title: "production synthesizes and passes the policy gate (no deny)",
      local: (c) => local.synthPassesGate(c, "production"),
    },
    { id: "policy.opa-tests", section: "policy", title: "OPA tests pass with coverage ≥ 90 %", local: () => local.opaTestsPass() },
    {
      id: "policy.bundle-fresh",
      section: "policy",
      title: "The shipped wasm bundle is what the Rego sources build",
      local: () => local.bundleMatchesSources(),
    },
    {
      id: "policy.signed-verifies",
      section: "policy",
      title: "policy-bundle-sign: a signed bundle verifies",
      local: (c) => local.signedBundleVerifies(c),
    },
    {
      id: "policy.unsigned-refused",
      section: "policy",
      title: "An unsigned bundle is refused (ALLOW_UNSIGNED_POLICY=false)",
      local: (c) => local.unsignedBundleRefused(c),
    },
    {
      id: "policy.runtime-signed",
      section: "policy",
      title: "The running service loaded a signed bundle and refuses unsigned ones",
      // The Rollout's spec refuses unsigned bundles, and every serving pod says it runs a signed one
      // (GET /healthz/policy from inside the pod, tools/verify/pod-http.sh), the same one.
      onLocalCluster: `the Rollout's pods ran on the host kubelet ${inside}, each asked at its own address`,
      cluster:
        `${kubectl} -n ${ns.app} get rollout compliance -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="ALLOW_UNSIGNED_POLICY")].value}' | grep -qx false && ` +
        `{ out=$(KUBE_CONTEXT=${ctx} bash tools/verify/pod-http.sh --namespace ${ns.app} --service compliance --container compliance --port ${compliancePort} --path /healthz/policy); ` +
        `rc=$?; printf '%s\\n' "$out"; [ "$rc" = 0 ]; } && printf '%s\\n' "$out" | cut -f3 | jq -rse '${podsRunSignedBundle}'`,
    },

    // Rollouts
    {
      id: "rollouts.policies",
      section: "rollouts",
      title: "The app is an Argo Rollout, blue/green, promotion gated by an SLO analysis (staging and production)",
      local: (c) => local.areaRulesHold(c, ["MAESTRO-ROLLOUT-"]),
    },
    {
      id: "rollouts.slo-healthy",
      section: "rollouts",
      title: "slo_gate passes a healthy target (real Prometheus)",
      local: (c) => local.sloGate(c, "healthy"),
    },
    {
      id: "rollouts.slo-breach",
      section: "rollouts",
      title: "slo_gate fails a breaching target (real Prometheus)",
      local: (c) => local.sloGate(c, "breaching"),
    },
    {
      id: "rollouts.controller",
      section: "rollouts",
      title:
        "Under the real Argo Rollouts controller: a healthy release is promoted with zero downtime; an SLO breach or no decision aborts it (before promotion) or rolls it back (after)",
      local: (c) => local.rolloutsUnderController(c),
      localTimeoutMs: 420_000,
      // Its own control plane and controller, mostly waiting on SLO windows: beside the rest.
      startsEarly: true,
    },
    {
      id: "rollouts.live",
      section: "rollouts",
      title: "The live rollout is healthy and its SLOs hold now",
      onLocalCluster: `the Rollout's pods ran on the host kubelet ${inside}; the SLOs are read from the rig's simulated traffic`,
      cluster:
        `${kubectl} -n ${ns.app} wait rollout/compliance --for=jsonpath='{.status.phase}'=Healthy --timeout 120s && ` +
        `node tools/ci/slo_gate.js --prometheus "\${PROMETHEUS_URL:-${config.prometheusUrl}}" --service compliance --namespace ${ns.app} ` +
        `--window ${config.rollout.slo.window} --max-error-ratio ${config.rollout.slo.maxErrorRatio} --max-p99-ms ${config.rollout.slo.maxP99Ms} --min-requests ${config.rollout.slo.minRequests}`,
    },

    // Immutable audit
    {
      id: "audit.policies",
      section: "audit",
      title:
        "Audit bucket: COMPLIANCE Object Lock ≥ configured retention, versioning, KMS, no public access, TLS only; least-privilege IAM",
      local: (c) => local.areaRulesHold(c, ["MAESTRO-S3-", "MAESTRO-IAM-"]),
    },
    {
      id: "audit.object-lock-denial",
      section: "audit",
      title: "Deleting a locked audit object is denied (moto's S3, tools/s3/enable_object_lock.sh)",
      local: () => local.objectLockDenial(),
    },
    {
      id: "audit.bucket-live",
      section: "audit",
      title: `The audit bucket ${config.audit.bucketName} is locked in ${config.audit.mode} mode for ≥ ${config.audit.retentionDays} days`,
      needs: "a cloud account (the live S3 bucket)",
      cluster:
        `aws s3api get-object-lock-configuration --bucket ${config.audit.bucketName} --region ${config.region} --output json | ` +
        `jq -e '.ObjectLockConfiguration.Rule.DefaultRetention | .Mode == "${config.audit.mode}" and (.Days // 0) >= ${config.audit.retentionDays}'`,
    },

    // HA + DR
    {
      id: "dr.pitr-drill",
      section: "dr",
      title: "A point-in-time restore to ISO_TS restores exactly that time (real Postgres, pitr.sh)",
      local: (c) => local.pitrDrill(c),
    },
    {
      id: "dr.drill-live",
      section: "dr",
      title: "A restore drill from the environment's WAL-G archive succeeds",
      needs: "a cloud account (the environment's WAL-G archive) and GitHub Actions",
      cluster: `gh workflow run drill-restore.yml -f environment=${config.name} -f ISO_TS=$(date -u -d '-15 min' +%Y-%m-%dT%H:%M:%SZ)`,
    },
    {
      id: "dr.standby",
      section: "dr",
      title: "Postgres and its standby are ready",
      onLocalCluster: "kwok's pods: scheduled, their claims bound, Ready, running nothing",
      cluster: `${kubectl} -n ${ns.data} rollout status statefulset/postgres --timeout 60s${config.backup.standbyReplica ? ` && ${kubectl} -n ${ns.data} rollout status statefulset/postgres-standby --timeout 60s` : ""}`,
    },

    {
      id: "dr.db-restart",
      section: "dr",
      title: "The service's replicas ride out a database restart: the same pods Ready again, none restarted, each ready on the database",
      // A drill (the database is away for seconds): tools/db/restart-drill.sh, docs/dr.md.
      onLocalCluster: `the Rollout's pods ran on the host kubelet ${inside}; the database restarted is the Postgres they use (pg_ctl -m fast stop, then start)`,
      cluster:
        `KUBE_CONTEXT=${ctx} bash tools/db/restart-drill.sh --namespace ${ns.app} --service compliance --container compliance ` +
        `--port ${compliancePort} --db-namespace ${ns.data} --db-pod postgres-0`,
    },

    {
      id: "dr.schedules",
      section: "dr",
      title: `Base backups run on ${config.backup.baseBackupSchedule}; the restore drill CronJob is suspended (run on demand)`,
      cluster:
        `${cronSchedule(ns.data, "postgres-base-backup", config.backup.baseBackupSchedule)} && ` +
        `${kubectl} -n ${ns.data} get cronjob postgres-restore-drill -o jsonpath='{.spec.suspend}' | grep -qx true`,
    },

    // SSO / SCIM
    {
      id: "identity.rbac-live",
      section: "identity",
      title:
        "Least privilege: every cell of the duty matrix, allowed and denied, holds on the API server (SubjectAccessReview + kubectl auth can-i)",
      cluster: `npm run -s cluster:rbac -- --env ${config.name} --context ${ctx}`,
    },
    {
      id: "identity.token-required",
      section: "identity",
      title: "The API refuses requests without a valid token (401) or a role (403)",
      local: (c) => local.tokenRequired(c),
    },
    {
      id: "identity.require-reason",
      section: "identity",
      title: "Restricted resources need a reason: no x-rfa → 403, with x-rfa → 200 (requireReason)",
      local: (c) => local.requireReason(c),
    },
    {
      id: "identity.scim-sync",
      section: "identity",
      title: `SCIM sync runs every ${config.gateway.scim.intervalMinutes} min and its last run succeeded`,
      onLocalCluster: `the Job's pod ran on the host kubelet ${inside}, from a SCIM server with one user to a replica of the Rollout`,
      cluster:
        `${cronSchedule(ns.gateway, "scim-sync", scimSchedule(config.gateway.scim.intervalMinutes))} && ` +
        `job=$(${kubectl} -n ${ns.gateway} create job --from=cronjob/scim-sync ga-verify-scim-$(date +%s) -o name) && ` +
        // Until the Job succeeds or fails (backoffLimit 0: one pod), at most 120 s.
        `for _ in $(seq 120); do case $(${kubectl} -n ${ns.gateway} get "$job" -o jsonpath='{.status.succeeded}/{.status.failed}') in ` +
        `1/*) echo "$job succeeded"; exit 0;; */[1-9]*) echo "$job failed: $(${kubectl} -n ${ns.gateway} get pods -l "job-name=\${job#*/}" ` +
        `-o jsonpath='{..state.terminated.message}' | tail -c 300)" >&2; exit 1;; esac; sleep 1; done; echo "$job: no result in 120 s" >&2; exit 1`,
    },

    // Compliance dashboard
    {
      id: "compliance.controls",
      section: "compliance",
      title: "GET /api/compliance/controls lists every control with evidence",
      local: (c) => local.controlsEndpoint(c),
    },
    { id: "compliance.exports", section: "compliance", title: "The JSON and PDF exports work", local: (c) => local.exportsWork(c) },
    {
      id: "compliance.signed-pack",
      section: "compliance",
      title: "The signed compliance pack verifies offline (Merkle root + signature)",
      local: (c) => local.signedPackVerifies(c),
    },
    {
      id: "compliance.live",
      section: "compliance",
      title: "The deployed service answers /api/compliance/controls through the gateway",
      needs: "a data plane (the gateway and the service's pods serving)",
      cluster: `curl -fsS -H "Authorization: Bearer \${MAESTRO_TOKEN:?set MAESTRO_TOKEN to an auditor token}" "\${MAESTRO_URL:?set MAESTRO_URL}/api/compliance/controls" | jq -e '.total > 0'`,
    },
  ];
}
