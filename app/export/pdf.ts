import type PDFKit from "pdfkit";
import type { ComplianceReport, ControlStatus } from "../compliance/types";

const statusColour: Record<ControlStatus, string> = { pass: "#1a7f37", fail: "#cf222e", stale: "#9a6700", unknown: "#57606a" };

/** PDF's standard fonts speak WinAnsi only: spell out the few symbols the report uses. */
function winAnsi(text: string): string {
  return (
    text
      .replace(/≥/g, ">=")
      .replace(/≤/g, "<=")
      .replace(/…/g, "...")
      .replace(/[↔→]/g, "->")
      // eslint-disable-next-line no-control-regex -- tab and newlines are the only control characters kept
      .replace(/[^\x09\x0a\x0d\x20-\x7e\u00a0-\u00ff\u2013\u2014\u2018\u2019\u201c\u201d\u2022]/g, "?")
  );
}

/** "3 h", "12 d": an evidence age for people. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return "n/a";
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/**
 * The compliance report as a PDF (pdfkit): a title page with the summary by framework and a
 * table of all controls, then one section per control with its mappings, status reason and
 * evidence. Resolves with the whole document.
 */
export function renderCompliancePdf(report: ComplianceReport): Promise<Buffer> {
  // Loaded on first export, not at start: pdfkit and its fonts cost most of a cold start.
  const PDFDocument = require("pdfkit") as typeof PDFKit;
  const doc = new PDFDocument({
    size: "A4",
    margin: 48,
    info: {
      Title: "Maestro compliance report",
      Subject: `Controls and evidence, ${report.service.environment}`,
      Creator: `${report.service.name} (maestro)`,
      CreationDate: new Date(report.generatedAt),
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on("data", (c: Buffer) => chunks.push(c));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
  });
  const text = (s: string) => winAnsi(s);

  doc.font("Helvetica-Bold").fontSize(20).text("Maestro compliance report");
  doc.moveDown(0.3);
  doc
    .font("Helvetica")
    .fontSize(10)
    .fillColor("#57606a")
    .text(`Service ${report.service.name}, environment ${report.service.environment}. Generated ${report.generatedAt}.`);
  doc.text("Status is derived from evidence at generation time: pass only when all evidence is present, fresh and passing.");
  doc.fillColor("black").moveDown();

  doc.font("Helvetica-Bold").fontSize(13).text("Summary by framework");
  doc.moveDown(0.4);
  doc.fontSize(9).font("Helvetica");
  doc.table({
    columnStyles: ["*", 50, 50, 50, 55, 50],
    rowStyles: (row) => (row === 0 ? { backgroundColor: "#eaeef2" } : undefined),
    data: [
      ["Framework", "Controls", "Pass", "Fail", "Stale", "Unknown"].map((t) => ({
        text: t,
        type: "TH" as const,
        font: { family: "Helvetica-Bold" },
      })),
      ...report.summary.map((s) => [text(s.title), String(s.total), String(s.pass), String(s.fail), String(s.stale), String(s.unknown)]),
    ],
  });
  doc.moveDown();

  doc.font("Helvetica-Bold").fontSize(13).text("Controls");
  doc.moveDown(0.4);
  doc.fontSize(9).font("Helvetica");
  doc.table({
    columnStyles: [110, "*", 50, 55],
    rowStyles: (row) => (row === 0 ? { backgroundColor: "#eaeef2" } : undefined),
    data: [
      ["Control", "Title", "Status", "Evidence age"].map((t) => ({ text: t, type: "TH" as const, font: { family: "Helvetica-Bold" } })),
      ...report.controls.map((c) => [
        c.id,
        text(c.title),
        { text: c.status.toUpperCase(), textColor: statusColour[c.status], font: { family: "Helvetica-Bold" } },
        formatAge(c.evidenceAgeSeconds),
      ]),
    ],
  });

  for (const c of report.controls) {
    doc.addPage();
    doc.font("Helvetica-Bold").fontSize(15).fillColor("black").text(text(c.title));
    doc.font("Helvetica").fontSize(9).fillColor("#57606a").text(`Control ${c.id}`);
    doc.moveDown(0.5);
    doc.font("Helvetica-Bold").fontSize(11).fillColor(statusColour[c.status]).text(`Status: ${c.status.toUpperCase()}`);
    doc.font("Helvetica").fontSize(10).fillColor("black").text(text(c.reason));
    doc.moveDown(0.5);
    doc.font("Helvetica-Bold").text("Objective");
    doc.font("Helvetica").text(text(c.objective));
    doc.moveDown(0.5);
    doc.font("Helvetica-Bold").text("Framework mappings");
    doc
      .font("Helvetica")
      .list(
        [
          `NIST SP 800-53 Rev. 5: ${c.frameworks.nist80053.join(", ")}`,
          `SOC 2 (TSC 2017): ${c.frameworks.soc2.join(", ")}`,
          `ISO/IEC 27001:2022 Annex A: ${c.frameworks.iso27001.join(", ")}`,
        ],
        { bulletRadius: 1.5 },
      );
    doc.moveDown(0.5);
    doc.font("Helvetica-Bold").text("Evidence");
    doc.moveDown(0.3);
    doc.fontSize(8.5).font("Helvetica");
    doc.table({
      columnStyles: [80, 45, 60, "*"],
      rowStyles: (row) => (row === 0 ? { backgroundColor: "#eaeef2" } : undefined),
      data: [
        ["Source", "Status", "Age (limit)", "What it says"].map((t) => ({
          text: t,
          type: "TH" as const,
          font: { family: "Helvetica-Bold" },
        })),
        ...c.evidence.map((e) => [
          e.source,
          { text: e.status.toUpperCase(), textColor: statusColour[e.status] },
          `${formatAge(e.ageSeconds)} (${formatAge(e.maxAgeSeconds)})`,
          text(`${e.reason}\nSource: ${e.origin}${e.observedAt ? `\nObserved: ${e.observedAt}` : ""}`),
        ]),
      ],
    });
  }
  doc.end();
  return done;
}
