// Synthetic environments for the scale rows: the staging config with its mesh service graph
// repeated `factor` times (8 services and 7 allow rules become 80 and 70 at 10×, 400 and 350 at
// 50×). Copy 0 is staging's own graph, so every stack finds the services it names; copy i adds
// `<name>-<i>` services with their own service accounts in the same namespaces, and the same
// allow rules between them. Generated on use, never committed.
import { environments, validateEnvironment } from "../../config/load";
import type { EnvironmentConfig, EnvironmentInput } from "../../config/schema";

type Mesh = EnvironmentInput["mesh"];

export function scaledStagingInput(factor: number): EnvironmentInput {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`scale factor must be a whole number ≥ 1 (got ${factor})`);
  const staging = environments.staging;
  const services: Mesh["services"] = [];
  const allow: Mesh["allow"] = [];
  for (let i = 0; i < factor; i++) {
    const name = (n: string) => (i === 0 ? n : `${n}-${i}`);
    for (const s of staging.mesh.services) {
      services.push({ ...s, name: name(s.name), serviceAccount: name(s.serviceAccount) });
    }
    for (const rule of staging.mesh.allow) allow.push({ ...rule, from: name(rule.from), to: name(rule.to) });
  }
  return { ...staging, mesh: { ...staging.mesh, services, allow } };
}

/** The validated config, as loadEnvironment("staging") returns it at 1×. */
export function scaledStaging(factor: number, edit?: (input: EnvironmentInput) => void): EnvironmentConfig {
  const input = scaledStagingInput(factor);
  edit?.(input);
  return validateEnvironment("staging", input);
}
