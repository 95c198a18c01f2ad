import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { mintDevToken } from "../../../app/auth/dev-issuer";
import { verifySignedPack } from "../../../app/export/verify";
import { buildService, type BuiltService } from "../../../app/server";
import { readServiceSettings } from "../../../app/settings";
import { backupRecord, cleanVerdicts, drillRecord, hoursAgo, writeEvidence } from "../../../harness/evidence";
import { freePort } from "../../../lib/net";
import { describeWithService } from "../../support/services";
import { findBinary } from "../../../harness/binaries";
import { seedPglite } from "../../../harness/pglite-template";

const chromiumPath = findBinary("chromium");
const pdftoppm = findBinary("pdftoppm");
// MAESTRO_UPDATE_SCREENSHOTS=1 refreshes docs/img/compliance-board.png from this run.
const screenshotDoc = join(__dirname, "..", "..", "..", "docs", "img", "compliance-board.png");

describeWithService(
  "ComplianceBoard in Chromium against the running service",
  chromiumPath && pdftoppm ? undefined : "chromium and pdftoppm",
  () => {
    let dir: string;
    let service: BuiltService;
    let browser: BrowserContext;
    let page: Page;
    let base: string;
    let token: string;

    beforeAll(async () => {
      // Built from the current sources in a child process: Vite's bundler (rolldown, a native
      // binding) rejects plugin objects created inside jest's VM context.
      execFileSync(process.execPath, ["-r", "./tools/register.js", "app/ui/build.ts"], {
        cwd: join(__dirname, "..", "..", ".."),
        stdio: "pipe",
      });
      dir = mkdtempSync(join(tmpdir(), "maestro-ui-"));
      await seedPglite(dir);
      writeEvidence(dir, {
        verdicts: {
          ...cleanVerdicts(hoursAgo(2)),
          violations: [
            {
              rule: "app.rollout_gated",
              severity: "deny",
              stack: "app",
              resource: "kubernetes_manifest.rollout",
              message: "no SLO analysis",
            },
          ],
        },
        backup: backupRecord(hoursAgo(5), "base_000000010000000000000009"),
        drill: drillRecord(hoursAgo(24 * 20), "pass"),
      });
      service = await buildService(readServiceSettings({ MAESTRO_DATA_DIR: dir }), { logger: false });
      const port = await freePort();
      await service.server.listen({ port, host: "127.0.0.1" });
      base = `http://127.0.0.1:${port}`;
      token = await mintDevToken(dir, { subject: "alice", groups: ["auditors"] });
      browser = await chromium.launchPersistentContext(join(dir, "chromium-profile"), {
        executablePath: chromiumPath,
        headless: true,
        acceptDownloads: true,
        viewport: { width: 1280, height: 900 },
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      page = browser.pages()[0] ?? (await browser.newPage());
    }, 180_000);
    afterAll(async () => {
      await browser?.close();
      await service?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("a visitor without a token sees the sign-in state, not data", async () => {
      await page.goto(base);
      await page.getByTestId("signin").waitFor();
      expect(await page.getByTestId("control-row").count()).toBe(0);
      expect(await page.getByTestId("signin").textContent()).toMatch(/a bearer token is required/);
    });

    test("after signing in with a token the page shows the real controls from the API", async () => {
      await page.fill("#token", token);
      await page.click("text=Use token");
      await page.getByTestId("control-row").first().waitFor();
      const api = (await (await fetch(`${base}/api/compliance/controls`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        controls: Array<{ id: string; status: string }>;
      };
      const rows = await page
        .getByTestId("control-row")
        .evaluateAll((els) => els.map((e) => [e.getAttribute("data-control"), e.getAttribute("data-status")]));
      expect(rows).toEqual(api.controls.map((c) => [c.id, c.status]));
      expect(rows).toContainEqual(["change-control", "fail"]);
      expect(rows).toContainEqual(["database-backup", "pass"]);
      expect(await page.getByTestId("summary").textContent()).toMatch(/NIST SP 800-53 Rev\. 5\d+\/8 passing/);
      await page.screenshot({ path: join(dir, "board.png"), fullPage: true });
      if (process.env.MAESTRO_UPDATE_SCREENSHOTS === "1") copyFileSync(join(dir, "board.png"), screenshotDoc);
    });

    test("the status filter narrows the table to the failing controls", async () => {
      await page.selectOption("select[aria-label=status]", "fail");
      // Rows vanish while the filtered list loads: wait for a non-empty, all-fail table.
      await page.waitForFunction(() => {
        const rows = Array.from(document.querySelectorAll("[data-testid=control-row]"));
        return rows.length > 0 && rows.every((r) => r.getAttribute("data-status") === "fail");
      });
      const ids = await page.getByTestId("control-row").evaluateAll((els) => els.map((e) => e.getAttribute("data-control")));
      expect(ids.sort()).toEqual(["change-control", "configuration-baseline"]);
      await page.selectOption("select[aria-label=framework]", "soc2");
      await page.selectOption("select[aria-label=status]", "");
      await page.waitForFunction(() => document.querySelectorAll("[data-testid=control-row]").length === 8);
    });

    test("an evidence link shows the evidence item", async () => {
      await page.click("[data-control=database-backup] >> text=last-backup");
      await page.getByTestId("evidence-panel").waitFor();
      await page.waitForFunction(() =>
        document.querySelector("[data-testid=evidence-panel] pre")?.textContent?.includes("base_000000010000000000000009"),
      );
    });

    test("Export PDF downloads a PDF whose first page renders", async () => {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Export PDF")]);
      expect(download.suggestedFilename()).toMatch(/^maestro-compliance-development-\d{14}\.pdf$/);
      const file = join(dir, "board-export.pdf");
      await download.saveAs(file);
      expect(readFileSync(file).subarray(0, 5).toString()).toBe("%PDF-");
      execFileSync(pdftoppm!, ["-png", "-r", "40", "-f", "1", "-singlefile", file, join(dir, "export-page")]);
      expect(existsSync(join(dir, "export-page.png"))).toBe(true);
      expect(readFileSync(join(dir, "export-page.png")).subarray(1, 4).toString()).toBe("PNG");
    });

    test("Export JSON and Export OSCAL download the report the API serves", async () => {
      const [json] = await Promise.all([page.waitForEvent("download"), page.click("text=Export JSON")]);
      expect(json.suggestedFilename()).toMatch(/^maestro-compliance-development-\d{14}\.json$/);
      await json.saveAs(join(dir, "board-export.json"));
      const report = JSON.parse(readFileSync(join(dir, "board-export.json"), "utf8")) as {
        controls: Array<{ id: string; status: string }>;
      };
      const api = (await (await fetch(`${base}/api/compliance/controls`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        controls: Array<{ id: string; status: string }>;
      };
      expect(report.controls.map((c) => [c.id, c.status])).toEqual(api.controls.map((c) => [c.id, c.status]));
      const [oscal] = await Promise.all([page.waitForEvent("download"), page.click("text=Export OSCAL")]);
      await oscal.saveAs(join(dir, "board-export.oscal.json"));
      const results = JSON.parse(readFileSync(join(dir, "board-export.oscal.json"), "utf8")) as Record<string, unknown>;
      expect(Object.keys(results)).toEqual(["assessment-results"]);
    });

    test("the audit log view asks for a reason, then lists the log with the reason's own entry", async () => {
      const panel = page.getByTestId("audit-panel");
      await panel.getByRole("button", { name: "Load audit log" }).click();
      await panel.getByText(/a reason is required/).waitFor();
      expect(await panel.locator("tbody tr").count()).toBe(0);
      await panel.getByPlaceholder(/Reason for access/).fill("SOC 2 audit 2026");
      await panel.getByRole("button", { name: "Load audit log" }).click();
      await panel.locator("tbody tr").first().waitFor();
      const rows = await panel.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)));
      const api = (await (
        await fetch(`${base}/api/compliance/audit?limit=50`, { headers: { authorization: `Bearer ${token}`, "x-rfa": "check" } })
      ).json()) as { entries: Array<{ id: number; type: string; actor: string }> };
      // The page's rows are the API's entries (the API call above appended one more).
      expect(rows.map((r) => Number(r[0]))).toEqual(api.entries.slice(0, rows.length).map((e) => e.id));
      expect(rows).toContainEqual([
        expect.any(String),
        expect.any(String),
        "access.reason",
        "alice",
        expect.stringMatching(/^[0-9a-f]{16}…$/),
      ]);
    });

    test("Signed pack downloads the pack, shows its Merkle root, and the pack verifies offline", async () => {
      const panel = page.getByTestId("audit-panel");
      const [download] = await Promise.all([page.waitForEvent("download"), panel.getByRole("button", { name: "Signed pack" }).click()]);
      const file = join(dir, "signed-pack.json");
      await download.saveAs(file);
      const signed = JSON.parse(readFileSync(file, "utf8")) as { pack: { merkle: { root: string; treeSize: number } } };
      await panel.getByTestId("merkle-root").waitFor();
      expect(await panel.getByTestId("merkle-root").textContent()).toBe(
        `${signed.pack.merkle.root} (${signed.pack.merkle.treeSize} entries)`,
      );
      const key = await (await fetch(`${base}/api/compliance/export/key`, { headers: { authorization: `Bearer ${token}` } })).text();
      const result = verifySignedPack(signed, key);
      expect(result.failures).toEqual([]);
      expect(result.ok).toBe(true);
    });

    test("a signed-in user without a role sees the no-access state", async () => {
      const stranger = await mintDevToken(dir, { subject: "mallory", groups: ["contractors"] });
      await page.click("text=Sign out");
      await page.getByTestId("signin").waitFor();
      await page.fill("#token", stranger);
      await page.click("text=Use token");
      await page.getByTestId("forbidden").waitFor();
      expect(await page.getByTestId("control-row").count()).toBe(0);
    });
  },
);
