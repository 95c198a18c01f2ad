import { categoryTitle, securityCategories } from "./security";
import type { ReportedViolation as PolicyViolation } from "../../../contracts/violation";
import type { FieldChange, ResourceChange, StackDiff, SynthDiff } from "./model";

export interface MarkdownOptions {
  /** A resource with more changed fields than this is folded into <details>. @default 6 */
  foldAbove?: number;
  /** GitHub refuses comments over 65536 characters; stay under this. @default 60000 */
  maxChars?: number;
  /** Rows of the security table before "and N more". @default 40 */
  maxSecurityRows?: number;
}

/** Marker that lets pr.yml find and update its own comment. */
export const commentMarker = "<!-- maestro-synth-diff -->";

const symbol = { added: "+", removed: "−", changed: "~" } as const;

/** Inline code that survives backticks and table pipes. */
function code(text: string): string {
  const fence = text.includes("`") ? "``" : "`";
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${text.replace(/\|/g, "\\|").replace(/\n/g, "↵")}${pad}${fence}`;
}

function value(v: unknown, max = 80): string {
  const text = JSON.stringify(v) ?? "undefined";
  return code(text.length > max ? `${text.slice(0, max - 1)}…` : text);
}

function describeField(f: FieldChange): string {
  const flag = f.security.length ? ` ⚠ ${f.security.map(categoryTitle).join(", ")}` : "";
  const masked = f.masked ? " (masked)" : "";
  if (f.action === "added") return `${code(f.path || "(whole)")}: added ${value(f.new)}${masked}${flag}`;
  if (f.action === "removed") return `${code(f.path || "(whole)")}: removed (was ${value(f.old)})${masked}${flag}`;
  return `${code(f.path || "(whole)")}: ${value(f.old)} → ${value(f.new)}${masked}${flag}`;
}

function resourceTitle(r: ResourceChange): string {
  return `${symbol[r.action]} ${code(r.address)}${r.label ? ` (${r.label})` : ""}${r.replace ? " **replace**" : ""}`;
}

function renderResource(r: ResourceChange, foldAbove: number, compact: boolean): string {
  const flag = r.security.length ? ` ⚠ ${r.security.map(categoryTitle).join(", ")}` : "";
  // Added / removed resources: the security-relevant fields inline, everything else folded.
  const shown = r.action === "changed" ? r.fields : r.fields.filter((f) => f.security.length);
  const rest = r.action === "changed" ? [] : r.fields.filter((f) => !f.security.length);
  const head = `- ${resourceTitle(r)}${flag}${r.action === "changed" ? "" : `: ${r.action}`}`;
  // Compact (to fit a comment): fields only for changed security-relevant resources; the table lists the rest.
  if (compact && (!r.security.length || r.action !== "changed")) return head;
  const lines = [head];
  if (shown.length <= foldAbove) lines.push(...shown.map((f) => `  - ${describeField(f)}`));
  else
    lines.push(
      fold(
        `${shown.length} ${r.action === "changed" ? "changed " : ""}fields`,
        shown.map((f) => `- ${describeField(f)}`),
      ),
    );
  if (rest.length && !compact)
    lines.push(
      fold(
        `${rest.length} ${shown.length ? "other " : ""}field${rest.length === 1 ? "" : "s"}`,
        rest.map((f) => `- ${describeField(f)}`),
      ),
    );
  return lines.join("\n");
}

function fold(summary: string, body: string[]): string {
  return ["  <details><summary>" + summary + "</summary>", "", ...body.map((l) => `  ${l}`), "", "  </details>"].join("\n");
}

function renderStack(s: StackDiff, foldAbove: number, compact: boolean): string {
  const counts = (["added", "removed", "changed"] as const)
    .map((a) => [a, s.resources.filter((r) => r.action === a).length] as const)
    .filter(([, n]) => n > 0)
    .map(([a, n]) => `${n} ${a}`);
  const title = `#### Stack ${code(s.stack)}: ${s.status === "changed" ? counts.join(", ") : `${s.status} stack (${counts.join(", ") || "empty"})`}, ${s.unchangedResources} unchanged`;
  return [title, "", ...s.resources.map((r) => renderResource(r, foldAbove, compact))].join("\n");
}

function securityTable(diff: SynthDiff, maxRows: number): string[] {
  const ranked: Array<[number, string]> = [];
  const rank = (ids: string[]) => securityCategories.findIndex((c) => c.id === ids[0]);
  const rows = { push: (row: string, ids: string[]) => ranked.push([rank(ids), row]) };
  for (const s of diff.stacks) {
    for (const r of s.resources.filter((x) => x.security.length)) {
      const fields = r.fields.filter((f) => f.security.length);
      // A resource added/removed whole shows as one row; a changed one, one row per flagged field.
      if (r.action !== "changed" || fields.length === 0) {
        rows.push(`| ${r.security.map(categoryTitle).join(", ")} | ${code(s.stack)} | ${resourceTitle(r)} | | ${r.action} |`, r.security);
      } else {
        for (const f of fields) {
          const change =
            f.action === "added"
              ? `added ${value(f.new, 60)}`
              : f.action === "removed"
                ? `removed (was ${value(f.old, 60)})`
                : `${value(f.old, 60)} → ${value(f.new, 60)}`;
          rows.push(
            `| ${f.security.map(categoryTitle).join(", ")} | ${code(s.stack)} | ${resourceTitle(r)} | ${code(f.path)} | ${change} |`,
            f.security,
          );
        }
      }
    }
  }
  if (ranked.length === 0) return [];
  // Most important category first (mTLS before retention before pod security); stack order within one.
  const all = ranked.map((r, i) => [...r, i] as const).sort((a, b) => a[0] - b[0] || a[2] - b[2]);
  const shown = all.slice(0, maxRows).map(([, row]) => row);
  return [
    "#### ⚠ Security-relevant changes (review these first)",
    "",
    "| touches | stack | resource | field | change |",
    "| --- | --- | --- | --- | --- |",
    ...shown,
    ...(all.length > maxRows
      ? ["", `…and ${all.length - maxRows} more security-relevant fields (see the per-stack sections and the JSON report).`]
      : []),
    "",
  ];
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function violationRow(v: PolicyViolation): string {
  return `| ${code(v.rule)} | ${v.severity} | ${code(v.stack)} | ${code(v.resource)} | ${cell(v.message)} | ${cell(v.fix ?? "")} |`;
}

function violationTable(list: PolicyViolation[]): string[] {
  return ["| rule | severity | stack | resource | message | fix |", "| --- | --- | --- | --- | --- | --- |", ...list.map(violationRow)];
}

function policySection(diff: SynthDiff): string[] {
  if (!diff.policy) return ["#### Policy verdicts", "", `_Not available: ${diff.policyUnavailable ?? "no policy report"}._`, ""];
  const { head, base, introduced, fixed } = diff.policy;
  const denies = head.violations.length;
  const warnings = head.warnings ?? [];
  const verdict = denies ? `❌ **${denies} deny**` : "✅ **no deny**";
  const lines = ["#### Policy verdicts (head)", "", `${verdict}, ${warnings.length} warn, ${head.passed} checks passed`];
  if (base) lines[2] += ` · versus base: ${introduced.length} new, ${fixed.length} fixed`;
  lines.push("");
  if (introduced.length) lines.push("**New violations**", "", ...violationTable(introduced), "");
  if (fixed.length) lines.push("**Fixed since base**", "", ...violationTable(fixed), "");
  // Without a base every deny is listed; with one, the denies base already had fold away.
  const carried = base ? head.violations.filter((v) => !introduced.includes(v)) : [];
  if (!base && denies) lines.push("**Denies**", "", ...violationTable(head.violations), "");
  const folded = (title: string, list: PolicyViolation[]) => [
    "<details><summary>" + title + "</summary>",
    "",
    ...violationTable(list),
    "",
    "</details>",
    "",
  ];
  if (carried.length) lines.push(...folded(`${carried.length} denies also present in base`, carried));
  if (warnings.length) lines.push(...folded(`${warnings.length} warnings`, warnings));
  return lines;
}

/** The PR comment. Stays under maxChars: first by folding non-security resources, then by cutting. */
export function renderMarkdown(diff: SynthDiff, options: MarkdownOptions = {}): string {
  const foldAbove = options.foldAbove ?? 6;
  const maxChars = options.maxChars ?? 60000;
  const full = render(diff, foldAbove, options.maxSecurityRows ?? 40, false);
  if (full.length <= maxChars) return full;
  const compact = render(diff, foldAbove, options.maxSecurityRows ?? 40, true);
  if (compact.length <= maxChars) return compact;
  const note = "\n\n…cut to fit a PR comment; the full diff is in the JSON report (`--format json`).\n";
  return compact.slice(0, maxChars - note.length) + note;
}

function render(diff: SynthDiff, foldAbove: number, maxSecurityRows: number, compact: boolean): string {
  const { summary } = diff;
  const total = diff.stacks.length;
  const changed = total - summary.stacks.unchanged;
  const r = summary.resources;
  const lines = [
    commentMarker,
    `### Synth diff ${code(diff.base)} → ${code(diff.head)}`,
    "",
    `**${changed} of ${total} stacks changed** · resources: ${r.added} added, ${r.removed} removed, ${r.changed} changed` +
      (summary.securityRelevant ? ` · **⚠ ${summary.securityRelevant} security-relevant**` : " · no security-relevant change"),
    "",
    ...securityTable(diff, maxSecurityRows),
  ];
  for (const s of diff.stacks.filter((x) => x.status !== "unchanged")) lines.push(renderStack(s, foldAbove, compact), "");
  const unchanged = diff.stacks.filter((x) => x.status === "unchanged");
  if (unchanged.length) lines.push(`Unchanged stacks: ${unchanged.map((s) => code(s.stack)).join(", ")}.`, "");
  if (compact) lines.push("_Non-security resources are listed without their fields to fit a PR comment; see the JSON report._", "");
  lines.push(...policySection(diff));
  return lines.join("\n").trimEnd() + "\n";
}
