// Secret-looking values never reach a PR comment or a bot: the house rule is that synthesized JSON
// holds only references, and this is the second line of defence when someone breaks it.

export const maskedValue = "***";

// A key that names a secret value (not a reference to one: `secretName`, `secret_ref`, `passwordSecret`
// end in a reference word and are left alone).
const secretKey =
  /(^|[._\-[\]"])(password|passwd|passphrase|secret|client_?secret|cookie_?secret|token|access_?token|refresh_?token|bearer|api_?key|private_?key|secret_?key|access_?key(_id)?|credentials?|auth_?token|session_?token|htpasswd)("?\]?)$/i;

// Values that are secrets whatever their key says.
const secretValuePatterns: RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\bAKIA[0-9A-Z]{16}\b/, // AWS access key id
  /\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}/, // JWT
  /\bgh[pousr]_[A-Za-z0-9]{30,}/, // GitHub token
  /\bxox[abpr]-[A-Za-z0-9-]{10,}/, // Slack token
  /\bsk_live_[A-Za-z0-9]{16,}/,
  /:\/\/[^/\s:@]+:[^/\s@]+@/, // credentials in a URL
];

// A container env var whose name says secret, set to a literal value.
const secretEnvValue = /\[name=[^\]]*(PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)[^\]]*\]\.value$/i;

// Kubernetes Secret data: every value under these paths is a secret.
const secretDataResource = /^kubernetes_secret(_v1)?$/;
const secretDataPath = /^(data|string_data|binary_data)(\.|\[|$)/;

/** True when a value at this path of this resource must be masked. */
export function isSecret(path: string, value: unknown, type: string, kind?: string): boolean {
  if (value === undefined || value === null || value === "" || typeof value === "boolean") return false;
  if (secretDataResource.test(type) && secretDataPath.test(path)) return true;
  if (type === "helm_release" && /^set_sensitive(\.|\[|$)/.test(path)) return true;
  if (kind === "Secret" && /^manifest\.(data|stringData)(\.|\[|$)/.test(path)) return true;
  if (typeof value === "string" || typeof value === "number") {
    if (secretKey.test(path) || secretEnvValue.test(path)) return true;
    if (typeof value === "string") return secretValuePatterns.some((p) => p.test(value));
    return false;
  }
  // An object or list: maskDeep masks what is inside, leaf by leaf.
  return false;
}

/** The value with every secret-looking leaf replaced by maskedValue; `masked` says whether any was. */
export function maskDeep(path: string, value: unknown, type: string, kind?: string): { value: unknown; masked: boolean } {
  if (isSecret(path, value, type, kind)) return { value: maskedValue, masked: true };
  let masked = false;
  const visit = (p: string, v: unknown): unknown => {
    if (Array.isArray(v)) return v.map((e, i) => visit(`${p}[${i}]`, e));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, visit(`${p}.${k}`, e)]));
    if (isSecret(p, v, type, kind)) {
      masked = true;
      return maskedValue;
    }
    return v;
  };
  const out = visit(path, value);
  return { value: out, masked };
}
