import { useCallback, useEffect, useState, type FormEvent } from "react";
import { ApiError, apiJson, download, formatAge, tokenStore, utf8Header, type ControlResult, type ControlsResponse } from "./api";

const frameworkOptions = [
  ["", "All frameworks"],
  ["soc2", "SOC 2"],
  ["iso27001", "ISO 27001"],
  ["nist80053", "NIST 800-53"],
] as const;
const statusOptions = ["", "pass", "fail", "stale", "unknown"] as const;

type PageState =
  | { kind: "loading" }
  | { kind: "unauthorized"; message: string }
  | { kind: "forbidden"; message: string }
  | { kind: "error"; message: string }
  | { kind: "ready"; data: ControlsResponse };

function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}

function SignIn({ message, onToken }: { message: string; onToken: (t: string) => void }) {
  const [value, setValue] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim()) onToken(value.trim());
  };
  return (
    <section className="panel signin" data-testid="signin">
      <h2>Sign in to see the controls</h2>
      <p className="muted">{message}</p>
      <p>
        <a className="button" href="/oauth2/start?rd=/">
          Sign in with your identity provider
        </a>
      </p>
      <form onSubmit={submit}>
        <label htmlFor="token">Or paste a bearer token (local: npm run -s app:token -- --sub alice --groups viewers)</label>
        <div className="row">
          <input id="token" name="token" type="password" value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" />
          <button type="submit">Use token</button>
        </div>
      </form>
    </section>
  );
}

function EvidencePanel({ href, onClose }: { href: string; onClose: () => void }) {
  const [body, setBody] = useState<string>("loading…");
  useEffect(() => {
    apiJson<unknown>(href).then(
      (e) => setBody(JSON.stringify(e, null, 2)),
      (err: Error) => setBody(`error: ${err.message}`),
    );
  }, [href]);
  return (
    <section className="panel" data-testid="evidence-panel">
      <div className="row spread">
        <h3>Evidence {href.split("/").pop()}</h3>
        <button onClick={onClose}>Close</button>
      </div>
      <pre>{body}</pre>
    </section>
  );
}

function ControlRow({ control, onEvidence }: { control: ControlResult; onEvidence: (href: string) => void }) {
  return (
    <tr data-testid="control-row" data-control={control.id} data-status={control.status}>
      <td>
        <div className="title">{control.title}</div>
        <div className="muted mono">{control.id}</div>
        <div className="muted small">{control.reason}</div>
      </td>
      <td>
        <StatusBadge status={control.status} />
      </td>
      <td className="small">
        <div>NIST {control.frameworks.nist80053.join(", ")}</div>
        <div>SOC 2 {control.frameworks.soc2.join(", ")}</div>
        <div>ISO {control.frameworks.iso27001.join(", ")}</div>
      </td>
      <td>{formatAge(control.evidenceAgeSeconds)}</td>
      <td className="small">
        {control.evidence.map((e) => (
          <div key={e.source}>
            <a
              href={e.href}
              onClick={(ev) => {
                ev.preventDefault();
                onEvidence(e.href);
              }}
            >
              {e.source}
            </a>{" "}
            <StatusBadge status={e.status} />
          </div>
        ))}
      </td>
    </tr>
  );
}

interface AuditEntryView {
  id: number;
  at: string;
  type: string;
  actor: string;
  hash: string;
}

function AuditLogPanel() {
  const [reason, setReason] = useState("");
  const [state, setState] = useState<{ entries?: AuditEntryView[]; root?: string; message?: string }>({});
  const load = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const { entries } = await apiJson<{ entries: AuditEntryView[] }>("/api/compliance/audit?limit=50", { "x-rfa": utf8Header(reason) });
      setState({ entries, message: entries.length === 0 ? "The audit log is empty." : undefined });
    } catch (err) {
      setState({ message: (err as Error).message });
    }
  };
  const signedPack = async () => {
    try {
      // The pack holds the whole audit log, so it needs the same reason as reading the log.
      const blob = await download("/api/compliance/export/signed", "maestro-signed-pack.json", { "x-rfa": utf8Header(reason) });
      const pack = JSON.parse(await blob.text()) as { pack?: { merkle?: { root?: string; treeSize?: number } } };
      setState((s) => ({
        ...s,
        root: pack.pack?.merkle?.root ? `${pack.pack.merkle.root} (${pack.pack.merkle.treeSize} entries)` : "no Merkle root in the pack",
      }));
    } catch (err) {
      setState((s) => ({ ...s, message: `signed pack: ${(err as Error).message}` }));
    }
  };
  return (
    <section className="panel" data-testid="audit-panel">
      <h2>Audit log</h2>
      <form onSubmit={load} className="row">
        <input placeholder="Reason for access (x-rfa), e.g. SOC 2 audit 2026" value={reason} onChange={(e) => setReason(e.target.value)} />
        <button type="submit">Load audit log</button>
        <button type="button" onClick={signedPack}>
          Signed pack
        </button>
      </form>
      {state.root && (
        <p>
          Merkle root: <code data-testid="merkle-root">{state.root}</code>
        </p>
      )}
      {state.message && <p className="muted">{state.message}</p>}
      {state.entries && state.entries.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>time</th>
              <th>type</th>
              <th>actor</th>
              <th>hash</th>
            </tr>
          </thead>
          <tbody>
            {state.entries.map((e) => (
              <tr key={e.id}>
                <td>{e.id}</td>
                <td className="small">{e.at}</td>
                <td>{e.type}</td>
                <td>{e.actor}</td>
                <td className="mono small">{e.hash.slice(0, 16)}…</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The operator page: summary by framework, filterable controls with evidence, exports, audit log. */
export function ComplianceBoard() {
  const [framework, setFramework] = useState("");
  const [status, setStatus] = useState("");
  const [state, setState] = useState<PageState>({ kind: "loading" });
  const [evidence, setEvidence] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  const load = useCallback(async () => {
    setState({ kind: "loading" });
    const query = new URLSearchParams();
    if (framework) query.set("framework", framework);
    if (status) query.set("status", status);
    try {
      const data = await apiJson<ControlsResponse>(`/api/compliance/controls${query.size ? `?${query}` : ""}`);
      setState({ kind: "ready", data });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setState({ kind: "unauthorized", message: err.message });
      else if (err instanceof ApiError && err.status === 403) setState({ kind: "forbidden", message: err.message });
      else setState({ kind: "error", message: (err as Error).message });
    }
  }, [framework, status]);

  useEffect(() => {
    void load();
  }, [load, attempt]);

  const exportAs = async (format: "json" | "pdf" | "oscal") => {
    setNotice(`Preparing ${format.toUpperCase()} export…`);
    try {
      await download(`/api/compliance/export?format=${format}`, `maestro-compliance.${format === "pdf" ? "pdf" : "json"}`);
      setNotice(`${format.toUpperCase()} export downloaded.`);
    } catch (err) {
      setNotice(`Export failed: ${(err as Error).message}`);
    }
  };

  const signOut = () => {
    tokenStore.clear();
    setAttempt((a) => a + 1);
  };

  return (
    <main>
      <header className="row spread">
        <div>
          <h1>ComplianceBoard</h1>
          {state.kind === "ready" && (
            <p className="muted">
              {state.data.service.name} · {state.data.service.environment} · evidence as of{" "}
              {new Date(state.data.generatedAt).toLocaleString()}
            </p>
          )}
        </div>
        {tokenStore.get() && <button onClick={signOut}>Sign out</button>}
      </header>

      {state.kind === "unauthorized" && (
        <SignIn
          message={state.message}
          onToken={(t) => {
            tokenStore.set(t);
            setAttempt((a) => a + 1);
          }}
        />
      )}
      {state.kind === "forbidden" && (
        <section className="panel error" data-testid="forbidden">
          <h2>No access</h2>
          <p>{state.message}. Ask for the viewers group in your identity provider.</p>
          <button onClick={signOut}>Use another account</button>
        </section>
      )}
      {state.kind === "error" && (
        <section className="panel error" data-testid="error">
          <h2>The controls could not be loaded</h2>
          <p>{state.message}</p>
          <button onClick={() => setAttempt((a) => a + 1)}>Retry</button>
        </section>
      )}
      {state.kind === "loading" && (
        <p className="muted" data-testid="loading">
          Loading controls…
        </p>
      )}

      {state.kind === "ready" && (
        <>
          <section className="summary" data-testid="summary">
            {state.data.summary.map((s) => (
              <div className="card" key={s.framework} data-framework={s.framework}>
                <div className="muted small">{s.title}</div>
                <div className="big">
                  {s.pass}/{s.total} passing
                </div>
                <div className="small">
                  <StatusBadge status="fail" /> {s.fail} <StatusBadge status="stale" /> {s.stale} <StatusBadge status="unknown" />{" "}
                  {s.unknown}
                </div>
              </div>
            ))}
          </section>

          <section className="row toolbar">
            <label>
              Framework{" "}
              <select aria-label="framework" value={framework} onChange={(e) => setFramework(e.target.value)}>
                {frameworkOptions.map(([v, label]) => (
                  <option key={v} value={v}>
                    {label}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Status{" "}
              <select aria-label="status" value={status} onChange={(e) => setStatus(e.target.value)}>
                {statusOptions.map((v) => (
                  <option key={v} value={v}>
                    {v || "All statuses"}
                  </option>
                ))}
              </select>
            </label>
            <span className="spacer" />
            <button onClick={() => exportAs("json")}>Export JSON</button>
            <button onClick={() => exportAs("pdf")}>Export PDF</button>
            <button onClick={() => exportAs("oscal")}>Export OSCAL</button>
          </section>
          {notice && (
            <p className="muted" data-testid="notice">
              {notice}
            </p>
          )}

          {evidence && <EvidencePanel href={evidence} onClose={() => setEvidence(null)} />}

          {state.data.controls.length === 0 ? (
            <p className="panel" data-testid="empty">
              No control matches these filters ({state.data.total} controls in the catalogue).
            </p>
          ) : (
            <table className="controls">
              <thead>
                <tr>
                  <th>Control</th>
                  <th>Status</th>
                  <th>Frameworks</th>
                  <th>Evidence age</th>
                  <th>Evidence</th>
                </tr>
              </thead>
              <tbody>
                {state.data.controls.map((c) => (
                  <ControlRow key={c.id} control={c} onEvidence={setEvidence} />
                ))}
              </tbody>
            </table>
          )}
          <AuditLogPanel />
        </>
      )}
    </main>
  );
}
