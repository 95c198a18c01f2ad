// Terraform's template syntax in synthesized strings, evaluated the way a plan would for what can
// be known before apply: `$${` and `%%{` are escapes, `${TYPE.NAME.attr}` reads an attribute the
// stack sets itself, and an attribute only the cloud knows (an ARN, an id) becomes a marked
// stand-in. Anything else inside `${...}` or `%{...}` is an expression Terraform would evaluate
// (or reject): this module refuses it, naming the resource, the path and the expression.

/** The stand-in for a value Terraform knows only after apply. */
export const knownAfterApply = (expression: string) => `(known after apply: ${expression})`;

export class TemplateError extends MaestroError<"TERRAFORM_TEMPLATE"> {
  constructor(
    readonly address: string,
    readonly path: string,
    readonly expression: string,
  ) {
    super(
      "TERRAFORM_TEMPLATE",
      `${address} ${path}: \`${expression}\` is a Terraform template expression, not a literal; escape it as $\${ (or %%{) if it is meant verbatim`,
    );
  }
}

type Resources = Record<string, Record<string, Record<string, unknown>>>;

// An attribute name may hold "-" (HCL identifiers do): cdktf names cross-stack outputs so.
import { MaestroError } from "../../lib/errors";
const reference = /^(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)((?:\.[A-Za-z0-9_-]+|\[\d+\])+)$/;

function readAttribute(resources: Resources, expression: string): { found: true; value: unknown } | { found: false } | undefined {
  const m = reference.exec(expression);
  if (!m) return undefined;
  if (m[1]) return { found: false }; // data sources are read at plan time, from the cloud
  const resource = resources[m[2]]?.[m[3]];
  if (!resource) return undefined;
  let value: unknown = resource;
  for (const step of m[4].match(/\.[A-Za-z0-9_-]+|\[\d+\]/g) ?? []) {
    if (step.startsWith("[")) {
      // cdktf writes a single nested block as an object: `metadata[0]` is that object.
      if (Array.isArray(value)) value = value[Number(step.slice(1, -1))];
      else if (step !== "[0]") return { found: false };
    } else if (value && typeof value === "object") {
      value = (value as Record<string, unknown>)[step.slice(1)];
    } else {
      return { found: false };
    }
    if (value === undefined) return { found: false };
  }
  return typeof value === "object" ? { found: false } : { found: true, value };
}

/** Evaluates one string; `path` names it in errors. */
export function evaluateTemplate(text: string, resources: Resources, address: string, path: string): string {
  let out = "";
  for (let i = 0; i < text.length;) {
    const two = text.slice(i, i + 3);
    if (two === "$${" || two === "%%{") {
      out += two.slice(1);
      i += 3;
      continue;
    }
    if ((text[i] === "$" || text[i] === "%") && text[i + 1] === "{") {
      let depth = 1;
      let j = i + 2;
      for (; j < text.length && depth > 0; j++) {
        if (text[j] === "{") depth++;
        else if (text[j] === "}") depth--;
      }
      const expression = text.slice(i + 2, j - 1).trim();
      const attribute = text[i] === "$" ? readAttribute(resources, expression) : undefined;
      if (!attribute) throw new TemplateError(address, path, text.slice(i, j));
      out += attribute.found ? String(attribute.value) : knownAfterApply(expression);
      i = j;
      continue;
    }
    out += text[i];
    i++;
  }
  return out;
}

/** Evaluates every string in a value tree (object keys included). */
export function evaluateStrings<T>(value: T, resources: Resources, address: string, path = ""): T {
  if (typeof value === "string") return evaluateTemplate(value, resources, address, path || "(value)") as T;
  if (Array.isArray(value)) return value.map((v, i) => evaluateStrings(v, resources, address, `${path}[${i}]`)) as T;
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = evaluateTemplate(k, resources, address, `${path}.${k} (key)`);
    out[key] = evaluateStrings(v, resources, address, path ? `${path}.${k}` : k);
  }
  return out as T;
}
