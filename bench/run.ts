// `npm run bench [-- name...]`: runs every suite in bench/cases (or the named ones), prints the
// rows and rewrites the results table in docs/BENCHMARKS.md. Each row is a ratio against a
// baseline measured in the same run on the same machine.
import { readdirSync, readFileSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import type { BenchRow, BenchSuite } from "./harness";

const docPath = join(__dirname, "..", "docs", "BENCHMARKS.md");
const begin = "<!-- bench:begin -->";
const end = "<!-- bench:end -->";

function table(title: string, rows: BenchRow[], load: number): string {
  const lines = [
    `### ${title}`,
    "",
    // Each section says when and on what it ran, so a partial run (npm run bench -- <suite>) is
    // never read against the header of an older full one.
    `Measured ${new Date().toISOString().slice(0, 10)} on Node ${process.version}, load average ${load.toFixed(1)} at its start.`,
    "",
    "| measure | this project | value | baseline | baseline value | ratio | target |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const target = r.target ? `${r.target} ${r.met === undefined ? "" : r.met ? "✅" : "❌"}`.trim() : "";
    lines.push(`| ${r.name} | ${r.subject} | ${r.value} | ${r.baseline ?? ""} | ${r.baselineValue ?? ""} | ${r.ratio ?? ""} | ${target} |`);
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const dir = join(__dirname, "cases");
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts") && (only.length === 0 || only.includes(f.replace(/\.ts$/, ""))));
  if (only.length > 0 && files.length !== only.length) {
    throw new Error(
      `unknown suite in ${only.join(", ")}; known: ${readdirSync(dir)
        .map((f) => f.replace(/\.ts$/, ""))
        .join(", ")}`,
    );
  }
  const sections: string[] = [];
  let failed = false;
  for (const file of files.sort()) {
    const { suite } = require(join(dir, file)) as { suite: BenchSuite };
    process.stderr.write(`bench: ${suite.title} …\n`);
    const load = loadavg()[0];
    const rows = await suite.run();
    const section = table(suite.title, rows, load);
    process.stdout.write(`${section}\n\n`);
    sections.push(section);
    failed ||= rows.some((r) => r.met === false);
  }
  const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`;
  const generated = `${begin}\n${header}\n\n${sections.join("\n\n")}\n${end}`;
  mkdirSync(join(__dirname, "..", "docs"), { recursive: true });
  const existing = existsSync(docPath) ? readFileSync(docPath, "utf8") : "";
  if (only.length === 0 || !existing.includes(begin)) {
    const intro = existing.includes(begin)
      ? existing.slice(0, existing.indexOf(begin))
      : "# Benchmarks\n\n`npm run bench` writes the tables below.\n\n";
    const outro = existing.includes(end) ? existing.slice(existing.indexOf(end) + end.length) : "\n";
    writeFileSync(docPath, `${intro}${generated}${outro}`);
  } else {
    // A partial run replaces only the sections it measured.
    let doc = existing;
    for (const section of sections) {
      const title = section.split("\n")[0];
      const startIdx = doc.indexOf(title);
      if (startIdx === -1) doc = doc.replace(end, `\n${section}\n${end}`);
      else {
        const next = doc.indexOf("\n### ", startIdx + 1);
        const stop = next === -1 || next > doc.indexOf(end) ? doc.indexOf(end) : next + 1;
        doc = `${doc.slice(0, startIdx)}${section}\n${next === -1 || next > doc.indexOf(end) ? "" : "\n"}${doc.slice(stop)}`;
      }
    }
    writeFileSync(docPath, doc);
  }
  process.stderr.write(`bench: wrote ${docPath}${failed ? " (some targets missed)" : ""}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
