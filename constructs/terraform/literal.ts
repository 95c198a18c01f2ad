import { readFileSync } from "node:fs";

/**
 * Text as a Terraform string literal: Terraform reads `${` and `%{` in any JSON string as template
 * sequences, so text shipped verbatim must have them doubled (`$${`, `%%{`). Policy MAESTRO-TF-001
 * refuses, at synth, any string whose template sequences are not plain references.
 */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\{/g, "$$${").replace(/%\{/g, "%%{");
}

/** The text Terraform makes of a literal written by {@link terraformLiteral} (for tests and diffs). */
export function fromTerraformLiteral(literal: string): string {
  return literal.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");
}

/** A file's content, as a Terraform string literal: the one way a construct embeds a file. */
export function embedFile(path: string): string {
  return terraformLiteral(readFileSync(path, "utf8"));
}
