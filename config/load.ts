import { schemaProblems } from "../lib/problems";
import { environmentSchema, type EnvironmentConfig, type EnvironmentInput } from "./schema";
import { staging } from "./staging";
import { production } from "./production";
import { parseArgs } from "node:util";
import { MaestroError } from "../lib/errors";
import { local } from "./local";

export const environments: Readonly<Record<string, EnvironmentInput>> = { staging, production, local };
export const defaultEnvironment = "staging";

/** A configuration error: every problem found, each naming its key and what is allowed. */
export class ConfigError extends MaestroError<"CONFIG_INVALID"> {
  constructor(
    readonly environment: string,
    readonly problems: readonly string[],
  ) {
    super("CONFIG_INVALID", `invalid configuration for environment '${environment}':\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Picks the environment from `--env NAME` / `--env=NAME`, then MAESTRO_ENV, then the default. */
export function resolveEnvironmentName(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  // Not strict: synth's argv is cdktf's too, so only --env is read here.
  const { values } = parseArgs({ args: [...argv], options: { env: { type: "string" } }, strict: false, allowPositionals: true });
  const name = values.env;
  if (name === undefined) return env.MAESTRO_ENV || defaultEnvironment;
  if (typeof name !== "string" || name === "" || name.startsWith("-"))
    throw new ConfigError("?", ["--env needs a value: one of " + Object.keys(environments).join(", ")]);
  return name;
}

/** Cross-field rules that a per-field schema cannot express. */
function crossFieldProblems(cfg: EnvironmentConfig): string[] {
  const problems: string[] = [];
  const services = new Map(cfg.mesh.services.map((s) => [s.name, s]));
  const namespaces = new Set(Object.values(cfg.namespaces));
  cfg.mesh.services.forEach((s, i) => {
    if (!namespaces.has(s.namespace)) {
      problems.push(
        `mesh.services[${i}].namespace: '${s.namespace}' is not one of the namespaces in config (${[...namespaces].join(", ")})`,
      );
    }
  });
  if (services.size !== cfg.mesh.services.length) problems.push("mesh.services: service names must be unique");
  cfg.mesh.permissiveNamespaces.forEach((ns, i) => {
    if (!namespaces.has(ns) || ns === cfg.namespaces.istio) {
      problems.push(
        `mesh.permissiveNamespaces[${i}]: '${ns}' must be a workload namespace from config, not the Istio root namespace (${[...namespaces].filter((n) => n !== cfg.namespaces.istio).join(", ")})`,
      );
    }
  });
  cfg.mesh.allow.forEach((rule, i) => {
    for (const side of ["from", "to"] as const) {
      if (!services.has(rule[side])) {
        problems.push(`mesh.allow[${i}].${side}: unknown service '${rule[side]}' (known: ${[...services.keys()].join(", ")})`);
      }
    }
    const target = services.get(rule.to);
    if (target && target.ports.length === 0) {
      problems.push(`mesh.allow[${i}].to: service '${rule.to}' serves no ports (it is client-only), so nothing can be allowed to it`);
    }
    for (const p of rule.ports ?? []) {
      if (target && !target.ports.includes(p))
        problems.push(`mesh.allow[${i}].ports: ${p} is not a port of service '${rule.to}' (${target.ports.join(", ")})`);
    }
  });
  if (cfg.name === "production" && cfg.rollout.replicas < 2) {
    problems.push(`rollout.replicas: production needs at least 2 replicas for zero-downtime rollouts (got ${cfg.rollout.replicas})`);
  }
  if (cfg.audit.bucketName === cfg.backup.bucketName) problems.push("backup.bucketName: must differ from audit.bucketName");
  for (const area of ["audit", "backup"] as const) {
    const { replica, bucketName } = cfg[area];
    if (replica.region === cfg.region)
      problems.push(
        `${area}.replica.region: must be another region than ${cfg.region} (the copy must survive a region) (got "${replica.region}")`,
      );
    const others = [
      cfg.audit.bucketName,
      cfg.backup.bucketName,
      area === "audit" ? cfg.backup.replica.bucketName : cfg.audit.replica.bucketName,
    ];
    if (replica.bucketName === bucketName || others.includes(replica.bucketName))
      problems.push(`${area}.replica.bucketName: must differ from every other bucket of the environment (got "${replica.bucketName}")`);
  }
  return problems;
}

/** Validates one environment's raw settings; throws ConfigError listing every problem. */
export function validateEnvironment(name: string, input: unknown): EnvironmentConfig {
  const parsed = environmentSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(name, schemaProblems(parsed.error, input));
  }
  const problems = crossFieldProblems(parsed.data);
  if (problems.length > 0) throw new ConfigError(name, problems);
  if (parsed.data.name !== name) throw new ConfigError(name, [`name: must be '${name}' (got '${parsed.data.name}')`]);
  return parsed.data;
}

/** Loads and validates the named environment. */
export function loadEnvironment(name: string): EnvironmentConfig {
  const input = environments[name];
  if (!input) throw new ConfigError(name, [`unknown environment '${name}': use one of ${Object.keys(environments).join(", ")}`]);
  return validateEnvironment(name, input);
}
