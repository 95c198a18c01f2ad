import { readFile, stat } from "node:fs/promises";
import { z } from "zod";
import { violationSchema, type ReportedViolation } from "../../../contracts/violation";
import { schemaProblems } from "../../../lib/problems";
import { failed, missing, type EvidenceProbe } from "./types";

/** The policy verdicts of one synth, as the policy gate writes them and the release ships them. */
export const verdictsSchema = z.object({
  violations: z.array(violationSchema),
  /** How many rule evaluations passed. */
  passed: z.number().int().nonnegative(),
  /** When the gate ran; the file's modification time stands in when absent. */
  generatedAt: z.string().optional(),
  environment: z.string().optional(),
});
export type Verdicts = z.infer<typeof verdictsSchema>;

/** Severities that do not fail a control (advice, not a gate). */
const advisorySeverities = new Set(["warn", "warning", "info", "low", "advisory"]);
export const isBlocking = (v: ReportedViolation): boolean => !advisorySeverities.has(v.severity.toLowerCase());

export const verdictsProbe: EvidenceProbe = {
  source: "policy-verdicts",
  title: "Policy verdicts of the deployed synth output",
  async collect(ctx) {
    const now = ctx.now();
    const file = ctx.settings.verdictsFile;
    let text: string;
    let modified: Date;
    try {
      [text, modified] = await Promise.all([readFile(file, "utf8"), stat(file).then((s) => s.mtime)]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return missing(this.source, file, now, `no verdicts file at ${file}`);
      return failed(this.source, file, now, err);
    }
    let verdicts: Verdicts;
    try {
      const parsed = verdictsSchema.safeParse(JSON.parse(text));
      if (!parsed.success) {
        const issues = schemaProblems(parsed.error).join("; ");
        return failed(this.source, file, now, new Error(`${file} is not a verdicts file: ${issues}`));
      }
      verdicts = parsed.data;
    } catch (err) {
      return failed(this.source, file, now, new Error(`${file} is not JSON: ${(err as Error).message}`));
    }
    const generated = verdicts.generatedAt && !Number.isNaN(Date.parse(verdicts.generatedAt)) ? new Date(verdicts.generatedAt) : modified;
    const blocking = verdicts.violations.filter(isBlocking).length;
    return {
      source: this.source,
      origin: file,
      state: "available",
      observedAt: generated.toISOString(),
      collectedAt: now.toISOString(),
      summary: `${verdicts.passed} passed, ${blocking} blocking and ${verdicts.violations.length - blocking} advisory violations`,
      data: verdicts,
    };
  },
};
