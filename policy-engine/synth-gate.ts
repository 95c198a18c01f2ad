// The gate synth runs after app.synth(): the shipped bundle over every stack it just wrote.
import { loadShippedBundle } from "./bundle";
import { runGate, readSynthOutput, type GateReport } from "./gate";
import { policyParameters } from "./input";
import { formatText } from "./report";

type GateConfig = Parameters<typeof policyParameters>[0];

/** Evaluates the synth output in outdir; writes the text report to `write` and returns it. */
export async function gateSynthOutput(outdir: string, config: GateConfig, write: (text: string) => void): Promise<GateReport> {
  const report = runGate(await loadShippedBundle(), readSynthOutput(outdir), policyParameters(config));
  write(formatText(report));
  return report;
}
