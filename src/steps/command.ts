/**
 * Runs the commands of the smoke gate and of the hooks on this machine: the configured command
 * (a string through /bin/sh -c, or an argv list) with gantry's environment plus the GANTRY_*
 * variables and the configured `env` (secrets resolved), under its timeout and the deploy's
 * AbortSignal, in a process group of its own so nothing it started outlives it. Every output line
 * is redacted with the secret masker before it is reported (as `<name> | <line>`) or kept; the
 * last {@link TAIL_LINES} lines go into the final record.
 */
import type { CommandConfig } from "../config/schema.ts";
import { valueOf } from "../config/secrets.ts";
import type { CommandRecord } from "./record.ts";
import { SecretMasker } from "../reporting/mask.ts";
import { run } from "../tools/exec.ts";
import { type LineReader, splitLines } from "../tools/lines.ts";
import type { DeployContext } from "./context.ts";

/** Output lines kept in the record. */
export const TAIL_LINES = 40;
/** Longer lines are cut (a minified bundle printed by mistake must not fill the ledger). */
const MAX_LINE_CHARS = 1000;

/** What a command runner needs from the deploy. */
export type CommandContext = Pick<DeployContext, "reporter" | "masker" | "secrets">;

/** The command as one line of text, for messages and the record. */
export function commandText(command: string | readonly string[]): string {
  if (typeof command === "string") return command;
  return command.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(" ");
}

/** The run's masker; without one, a masker of the resolved secrets (never no masking at all). */
export function maskerOf(ctx: CommandContext): SecretMasker {
  if (ctx.masker) return ctx.masker;
  const masker = new SecretMasker();
  for (const value of Object.values(ctx.secrets ?? {})) masker.add(value);
  return masker;
}

/** A finished command: its record (status succeeded or failed) and, if it failed, why. */
export interface CommandOutcome {
  readonly record: CommandRecord;
  /** One line: how it failed and its last lines of output; undefined when it succeeded. */
  readonly failure: string | undefined;
}

/**
 * Run `config.command` as `name` with `env` (GANTRY_* and BASE_URL) on top of gantry's own
 * environment and the configured `env`. Never throws: a failure is in the outcome.
 */
export async function runCommand(
  ctx: CommandContext,
  name: string,
  config: CommandConfig,
  env: Readonly<Record<string, string>>,
  signal?: AbortSignal,
): Promise<CommandOutcome> {
  const masker = maskerOf(ctx);
  const secrets = ctx.secrets ?? {};
  const text = masker.redact(commandText(config.command));
  const tail: string[] = [];
  const onLine = (raw: string): void => {
    const line = masker.redact(raw.trimEnd()).slice(0, MAX_LINE_CHARS);
    if (!line.trim()) return;
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    ctx.reporter.emit({ type: "info", message: `${name} | ${line}` });
  };
  // A line that never ends (a progress bar without line breaks) is passed on in pieces.
  const split = (): LineReader => splitLines(onLine, { maxLineChars: 8 * MAX_LINE_CHARS });
  const streams = { stdout: split(), stderr: split() };
  const [file, args] =
    typeof config.command === "string"
      ? ["/bin/sh", ["-c", config.command]]
      : [config.command[0] ?? "", config.command.slice(1)];
  const configured = Object.fromEntries(Object.entries(config.env).map(([k, v]) => [k, valueOf(v, secrets)]));
  ctx.reporter.emit({ type: "progress", message: `${name}: ${text}` });
  const started = Date.now();
  const result = await run(file, args, {
    // Children inherit gantry's environment (PATH, HOME, CI variables), like any other tool run.
    env: { ...process.env, ...configured, ...env },
    timeoutMs: config.timeoutSeconds * 1000,
    processGroup: true,
    ...(signal ? { signal } : {}),
    onOutput: (chunk, stream) => {
      streams[stream].write(chunk);
    },
  });
  streams.stdout.end();
  streams.stderr.end();
  const durationMs = Date.now() - started;
  const ok = result.code === 0 && !result.timedOut && signal?.aborted !== true;
  const exitCode = result.timedOut || signal?.aborted === true ? null : result.code;
  const record: CommandRecord = {
    name,
    command: text,
    status: ok ? "succeeded" : "failed",
    exitCode,
    timedOut: result.timedOut,
    durationMs,
    tail,
  };
  if (ok) {
    ctx.reporter.emit({ type: "info", message: `${name} succeeded in ${(durationMs / 1000).toFixed(1)} s` });
    return { record, failure: undefined };
  }
  let how: string;
  if (result.timedOut) how = `timed out after ${String(config.timeoutSeconds)} s`;
  else if (signal?.aborted) how = "was interrupted";
  else if (result.code === null && result.signal === null)
    how = `could not start: ${masker.redact(result.stderr.trim())}`;
  else if (result.code === null) how = `was killed by ${String(result.signal)}`;
  else how = `exited with code ${String(result.code)}`;
  const last = tail.slice(-3).join(" | ");
  return { record, failure: `${name} "${text}" ${how}${last ? `: ${last}` : ""}` };
}
