/**
 * GitHub Actions workflow commands and file commands, formatted as the runner parses them
 * (https://docs.github.com/actions/reference/workflow-commands-for-github-actions), with the same
 * escaping as `@actions/core` (which is not used because it writes to process.stdout and reads
 * process.env itself: gantry's output must go through the reporter and the masker, and stdout may
 * carry --json).
 */
import { randomUUID } from "node:crypto";
import { appendFile } from "node:fs/promises";
import { GitHubError } from "./errors.ts";

/** Escape a command's message: `%` → %25, CR → %0D, LF → %0A. */
export function escapeData(value: string): string {
  return value.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** Escape a command property value: as {@link escapeData}, plus `:` → %3A and `,` → %2C. */
export function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** Properties of an annotation (all optional). */
export interface AnnotationProperties {
  readonly title?: string;
  readonly file?: string;
  readonly line?: number;
  readonly endLine?: number;
  readonly col?: number;
  readonly endColumn?: number;
}

/** One `::error …::message` / `::warning …::message` / `::notice …::message` line (with its newline). */
export function annotation(
  level: "error" | "warning" | "notice",
  message: string,
  properties: AnnotationProperties = {},
): string {
  const props = Object.entries(properties)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(",");
  return `::${level}${props ? ` ${props}` : ""}::${escapeData(message)}\n`;
}

const OUTPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * The GITHUB_OUTPUT lines of one output: `name=value` for a one-line value, the heredoc form
 * (`name<<ghadelimiter_<uuid>` … delimiter) for a value with line breaks.
 */
export function formatOutput(name: string, value: string): string {
  if (!OUTPUT_NAME.test(name)) {
    throw new GitHubError(`"${name}" is not a valid step output name`, {
      code: "GITHUB_BAD_OUTPUT_NAME",
      source: "system",
      hint: "output names start with a letter or _ and contain only letters, digits, - and _",
    });
  }
  if (!/[\r\n]/.test(value)) return `${name}=${value}\n`;
  let delimiter = `ghadelimiter_${randomUUID()}`;
  while (value.includes(delimiter)) delimiter = `ghadelimiter_${randomUUID()}`;
  return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
}

/** Append step outputs to the GITHUB_OUTPUT file, in one write. */
export async function appendOutputs(file: string, outputs: Readonly<Record<string, string>>): Promise<void> {
  const text = Object.entries(outputs)
    .map(([name, value]) => formatOutput(name, value))
    .join("");
  if (text) await appendFile(file, text, "utf8");
}
