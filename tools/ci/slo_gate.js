#!/usr/bin/env node
// slo_gate.js: the promotion gate of a blue/green rollout. Asks Prometheus for a service's request
// count, error ratio and p99 latency over a window and compares them with the SLO thresholds.
// Plain Node (>= 18), no build step, no dependencies: it runs unchanged from a ConfigMap in an
// Argo Rollouts analysis Job. Exit 0 all SLIs pass, 1 any breach, 2 bad usage or no decision
// possible (Prometheus unreachable, empty result, too little traffic): missing data never passes.
"use strict";

const http = require("node:http");

const EXIT_PASS = 0;
const EXIT_BREACH = 1;
const EXIT_USAGE = 2;

const usage = `usage: slo_gate.js --prometheus URL --service NAME --namespace NAME [options]

Checks a service's SLIs in Prometheus (HTTP API /api/v1/query) against SLO thresholds.

  --prometheus URL          Prometheus base URL (default: $PROMETHEUS_URL)
  --service NAME            value of the 'service' label (the Kubernetes Service scraped)
  --namespace NAME          value of the 'namespace' label
  --window DURATION         lookback of every SLI, a Prometheus duration (default: 5m)
  --max-error-ratio R       highest allowed share of 5xx responses, 0-1 (default: 0.01)
  --max-p99-ms MS           highest allowed p99 latency in milliseconds (default: 300)
  --min-requests N          fewest requests in the window for a decision (default: 50)
  --timeout DURATION        limit for all queries together, e.g. 5s or 500ms (default: 10s)
  --format text|json        output format (default: text)
  --requests-query Q        PromQL for the request count in the window
  --error-ratio-query Q     PromQL for the error ratio (0-1)
  --p99-query Q             PromQL for the p99 latency, in seconds (as histograms give it)
  -h, --help                this text

In the queries, $service, $namespace and $window are replaced by the flag values. Each query
must return exactly one sample. Defaults read http_requests_total{service,namespace,code} and
http_request_duration_seconds_bucket{service,namespace,le}.

exit status: 0 every SLI passes; 1 an SLI breaches its threshold; 2 bad usage, Prometheus
unreachable or failing, an empty or NaN result, or fewer than --min-requests requests.
`;

const defaultQueries = {
  requests: 'sum(increase(http_requests_total{service="$service",namespace="$namespace"}[$window]))',
  // `or vector(0)`: a service that has never answered 5xx has no such series; that is a 0 ratio.
  errorRatio:
    '(sum(rate(http_requests_total{service="$service",namespace="$namespace",code=~"5.."}[$window])) or vector(0))' +
    ' / sum(rate(http_requests_total{service="$service",namespace="$namespace"}[$window]))',
  p99: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service="$service",namespace="$namespace"}[$window])))',
};

class UsageError extends Error {}

/** "5s", "500ms", "2m" or plain seconds → milliseconds. */
function parseDurationMs(flag, raw) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw);
  if (!m || Number(m[1]) <= 0) throw new UsageError(`${flag} must be a positive duration such as 5s or 500ms (got '${raw}')`);
  const unit = { ms: 1, s: 1000, m: 60000 }[m[2] || "s"];
  return Number(m[1]) * unit;
}

function parseNumber(flag, raw, { min, max, integer }) {
  const value = Number(raw);
  const ok =
    raw !== "" && Number.isFinite(value) && value >= min && (max === undefined || value <= max) && (!integer || Number.isInteger(value));
  if (!ok) {
    const kind = integer ? "an integer" : "a number";
    throw new UsageError(`${flag} must be ${kind} ${max === undefined ? `>= ${min}` : `${min}-${max}`} (got '${raw}')`);
  }
  return value;
}

const k8sName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** argv → options; throws UsageError naming the flag and what is allowed. */
function parseArgs(argv, env) {
  const valueFlags = new Set([
    "--prometheus",
    "--service",
    "--namespace",
    "--window",
    "--max-error-ratio",
    "--max-p99-ms",
    "--min-requests",
    "--timeout",
    "--format",
    "--requests-query",
    "--error-ratio-query",
    "--p99-query",
  ]);
  const raw = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (arg === "-h" || arg === "--help") return { help: true };
    let value;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (!valueFlags.has(arg)) throw new UsageError(`unknown argument '${arg}'`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
    }
    raw[arg] = value;
  }

  const prometheus = raw["--prometheus"] ?? env.PROMETHEUS_URL;
  if (!prometheus) throw new UsageError("--prometheus (or PROMETHEUS_URL) is required: the Prometheus base URL");
  let prometheusUrl;
  try {
    prometheusUrl = new URL(prometheus);
  } catch {
    throw new UsageError(`--prometheus must be an http(s) URL (got '${prometheus}')`);
  }
  if (prometheusUrl.protocol !== "http:" && prometheusUrl.protocol !== "https:")
    throw new UsageError(`--prometheus must be an http(s) URL (got '${prometheus}')`);

  const window = raw["--window"] ?? "5m";
  if (!/^\d+(ms|s|m|h|d|w|y)$/.test(window) || /^0+[a-z]+$/.test(window))
    throw new UsageError(`--window must be a Prometheus duration such as 30s, 5m or 1h (got '${window}')`);

  const format = raw["--format"] ?? "text";
  if (format !== "text" && format !== "json") throw new UsageError(`--format must be text or json (got '${format}')`);

  const queries = {
    requests: raw["--requests-query"] ?? defaultQueries.requests,
    errorRatio: raw["--error-ratio-query"] ?? defaultQueries.errorRatio,
    p99: raw["--p99-query"] ?? defaultQueries.p99,
  };
  const queryFlags = { requests: "--requests-query", errorRatio: "--error-ratio-query", p99: "--p99-query" };
  for (const [key, q] of Object.entries(queries)) {
    if (!q.trim()) throw new UsageError(`${queryFlags[key]} must not be empty`);
  }
  // Names go into label matchers, so they must be plain Kubernetes names (no quotes, no regex).
  for (const [flag, placeholder] of [
    ["--service", "$service"],
    ["--namespace", "$namespace"],
  ]) {
    const value = raw[flag];
    const needed = Object.values(queries).some((q) => q.includes(placeholder));
    if (value === undefined && needed) throw new UsageError(`${flag} is required (the queries use ${placeholder})`);
    if (value !== undefined && !k8sName.test(value)) throw new UsageError(`${flag} must be a Kubernetes name (got '${value}')`);
  }

  return {
    help: false,
    prometheus: prometheusUrl,
    service: raw["--service"],
    namespace: raw["--namespace"],
    window,
    maxErrorRatio: parseNumber("--max-error-ratio", raw["--max-error-ratio"] ?? "0.01", { min: 0, max: 1 }),
    maxP99Ms: parseNumber("--max-p99-ms", raw["--max-p99-ms"] ?? "300", { min: 0, integer: false }),
    minRequests: parseNumber("--min-requests", raw["--min-requests"] ?? "50", { min: 1, integer: true }),
    timeoutMs: parseDurationMs("--timeout", raw["--timeout"] ?? "10s"),
    format,
    queries,
  };
}

function expand(query, opts) {
  return query
    .replaceAll("$service", opts.service ?? "")
    .replaceAll("$namespace", opts.namespace ?? "")
    .replaceAll("$window", opts.window);
}

/** A failure that leaves no decision (exit 2): unreachable, HTTP error, malformed or empty answer. */
class NoDataError extends Error {}

/** GET /api/v1/query; resolves with the single sample's value (a number, possibly NaN/Inf). */
function instantQuery(base, expr, time, signal) {
  const url = new URL(base.href.replace(/\/+$/, "") + "/api/v1/query");
  url.searchParams.set("query", expr);
  url.searchParams.set("time", time.toFixed(3));
  // TLS is loaded only when needed: it costs more start-up time than the rest of the script.
  const client = url.protocol === "https:" ? require("node:https") : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { signal, headers: { accept: "application/json" } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", (err) => reject(new NoDataError(`reading the answer from ${base.origin}: ${err.message}`)));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          reject(new NoDataError(`Prometheus answered HTTP ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`));
          return;
        }
        if (body.status !== "success") {
          reject(
            new NoDataError(
              `Prometheus refused the query (HTTP ${res.statusCode}, ${body.errorType ?? "error"}): ${body.error ?? text.slice(0, 200)}`,
            ),
          );
          return;
        }
        const { resultType, result } = body.data ?? {};
        if (resultType === "scalar") {
          resolve(Number(result[1]));
          return;
        }
        if (resultType !== "vector") {
          reject(new NoDataError(`query returned a ${resultType}; it must return an instant vector or a scalar`));
          return;
        }
        if (result.length === 0) {
          reject(new NoDataError("empty result (no series matched: is the service scraped, and do the labels match?)"));
          return;
        }
        if (result.length > 1) {
          reject(new NoDataError(`query returned ${result.length} series; aggregate it to one (for example with sum(...))`));
          return;
        }
        resolve(Number(result[0].value[1]));
      });
    });
    req.on("error", (err) => {
      if (signal.aborted) reject(new NoDataError(`Prometheus at ${base.origin} did not answer within the timeout`));
      else reject(new NoDataError(`cannot reach Prometheus at ${base.origin}: ${err.code ?? err.message}`));
    });
  });
}

const sliSpecs = [
  {
    key: "requests",
    name: "requests",
    flag: "--min-requests",
    threshold: (o) => o.minRequests,
    passes: (v, t) => v >= t,
    comparison: ">=",
    show: (v) => String(Math.round(v)),
    unit: "",
  },
  {
    key: "errorRatio",
    name: "error ratio",
    flag: "--max-error-ratio",
    threshold: (o) => o.maxErrorRatio,
    passes: (v, t) => v <= t,
    comparison: "<=",
    show: (v) => String(Number(v.toPrecision(4))),
    unit: "",
  },
  {
    key: "p99",
    name: "p99 latency",
    flag: "--max-p99-ms",
    threshold: (o) => o.maxP99Ms,
    // Prometheus gives seconds; the SLO is in milliseconds.
    toValue: (seconds) => seconds * 1000,
    passes: (v, t) => v <= t,
    comparison: "<=",
    show: (v) => String(Number(v.toFixed(1))),
    unit: " ms",
  },
];

/** Runs every query and decides. Resolves with { exitCode, report }. */
async function evaluate(opts) {
  const time = Date.now() / 1000; // one evaluation instant for all three SLIs
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  try {
    const settled = await Promise.allSettled(
      sliSpecs.map((spec) => instantQuery(opts.prometheus, expand(opts.queries[spec.key], opts), time, controller.signal)),
    );
    const slis = sliSpecs.map((spec, i) => {
      const outcome = settled[i];
      const threshold = spec.threshold(opts);
      const sli = {
        name: spec.name,
        query: expand(opts.queries[spec.key], opts),
        threshold,
        comparison: spec.comparison,
        unit: spec.unit.trim(),
      };
      if (outcome.status === "rejected") {
        if (!(outcome.reason instanceof NoDataError)) throw outcome.reason;
        return { ...sli, value: null, verdict: "no-data", reason: outcome.reason.message };
      }
      const value = spec.toValue ? spec.toValue(outcome.value) : outcome.value;
      if (Number.isNaN(value)) return { ...sli, value: null, verdict: "no-data", reason: "NaN (no requests in the window)" };
      return { ...sli, value, verdict: spec.passes(value, threshold) ? "pass" : "breach", display: spec.show(value) };
    });
    const requests = slis[0];
    let verdict;
    let reason;
    if (requests.verdict === "no-data") {
      // Without a request count a breach could be noise from a handful of requests: no decision.
      verdict = "inconclusive";
      reason = `requests: ${requests.reason}`;
    } else if (requests.verdict === "breach") {
      verdict = "inconclusive";
      reason = `too little traffic: ${requests.display} requests in ${opts.window}, at least ${opts.minRequests} needed for a decision`;
      requests.verdict = "too-little-traffic";
    } else if (slis.some((s) => s.verdict === "breach")) {
      verdict = "breach";
      reason = slis
        .filter((s) => s.verdict === "breach")
        .map((s) => `${s.name} ${s.display}${s.unit ? ` ${s.unit}` : ""} exceeds ${s.threshold}${s.unit ? ` ${s.unit}` : ""}`)
        .join("; ");
    } else if (slis.some((s) => s.verdict === "no-data")) {
      verdict = "inconclusive";
      reason = [...new Set(slis.filter((s) => s.verdict === "no-data").map((s) => `${s.name}: ${s.reason}`))].join("; ");
    } else {
      verdict = "pass";
      reason = "every SLI is within its threshold";
    }
    const exitCode = verdict === "pass" ? EXIT_PASS : verdict === "breach" ? EXIT_BREACH : EXIT_USAGE;
    return { exitCode, report: { verdict, exitCode, reason, slis, time } };
  } finally {
    clearTimeout(timer);
  }
}

function renderText(opts, report) {
  const target = opts.service ? `service ${opts.service}${opts.namespace ? ` in ${opts.namespace}` : ""}` : "custom queries";
  const lines = [`slo_gate: ${target}, window ${opts.window}, Prometheus ${opts.prometheus.origin}`];
  for (const s of report.slis) {
    const value = s.value === null ? "no data" : `${s.display}${s.unit ? ` ${s.unit}` : ""}`;
    const threshold = `${s.comparison} ${s.threshold}${s.unit ? ` ${s.unit}` : ""}`;
    const verdict = s.verdict === "pass" ? "ok" : s.verdict.toUpperCase();
    lines.push(`  ${s.name.padEnd(12)} ${value.padEnd(12)} ${threshold.padEnd(12)} ${verdict}${s.reason ? ` (${s.reason})` : ""}`);
  }
  lines.push(`verdict: ${report.verdict.toUpperCase()}: ${report.reason}`);
  return lines.join("\n") + "\n";
}

function renderJson(opts, report) {
  return (
    JSON.stringify({
      verdict: report.verdict,
      exitCode: report.exitCode,
      reason: report.reason,
      service: opts.service ?? null,
      namespace: opts.namespace ?? null,
      window: opts.window,
      prometheus: opts.prometheus.origin,
      evaluatedAt: new Date(report.time * 1000).toISOString(),
      slis: report.slis.map((s) => ({
        name: s.name,
        value: s.value,
        unit: s.unit || null,
        threshold: s.threshold,
        comparison: s.comparison,
        verdict: s.verdict,
        ...(s.reason ? { reason: s.reason } : {}),
        query: s.query,
      })),
    }) + "\n"
  );
}

async function main(argv, env) {
  let opts;
  try {
    opts = parseArgs(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`slo_gate: ${err.message}\nrun 'slo_gate.js --help' for usage\n`);
    return EXIT_USAGE;
  }
  if (opts.help) {
    process.stdout.write(usage);
    return EXIT_PASS;
  }
  const { exitCode, report } = await evaluate(opts);
  process.stdout.write(opts.format === "json" ? renderJson(opts, report) : renderText(opts, report));
  return exitCode;
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (code) => (process.exitCode = code),
    (err) => {
      process.stderr.write(`slo_gate: internal error: ${err && err.stack ? err.stack : err}\n`);
      process.exitCode = EXIT_USAGE;
    },
  );
}

module.exports = { parseArgs, evaluate, defaultQueries, main };
