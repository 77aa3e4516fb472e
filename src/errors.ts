/**
 * Typed errors. Every failure that reaches a user is a {@link GantryError}: a one-line message,
 * a stable code, a hint naming the next thing to run, and whether the user or the system is at fault.
 */

/** Who has to act on an error: the person running gantry, or the system/operator. */
export type ErrorSource = "user" | "system";

/** Options shared by every {@link GantryError}. */
export interface GantryErrorOptions {
  /** Stable machine-readable code, e.g. `SANDBOX_PORT_IN_USE`. */
  code: string;
  /** The next command or action that fixes it. */
  hint?: string | undefined;
  /** Defaults to `system`. */
  source?: ErrorSource;
  /** The underlying failure, kept for `--verbose` and logs. */
  cause?: unknown;
}

/** Base class of every error gantry raises on purpose. */
export class GantryError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly source: ErrorSource;

  constructor(message: string, options: GantryErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.hint = options.hint;
    this.source = options.source ?? "system";
  }
}

/** Bad command-line input: exit code 2, nothing was changed. */
export class UsageError extends GantryError {
  /** A usage error always says what to do instead. */
  constructor(message: string, hint: string) {
    super(message, { code: "USAGE", hint, source: "user" });
  }
}

/** Invalid per-environment configuration (Pulumi.<env>.yaml), naming the key at fault. */
export class ConfigError extends GantryError {
  constructor(message: string, options: Omit<GantryErrorOptions, "code"> & { code?: string }) {
    super(message, { source: "user", ...options, code: options.code ?? "CONFIG_INVALID" });
  }
}

/** A tool gantry needs (Pulumi CLI, Python, Go, Node) is missing or could not be built. */
export class ToolchainError extends GantryError {}

/** The local sandbox AWS account failed to start, answer or stop. */
export class SandboxError extends GantryError {}

/** A Pulumi engine or Automation API failure, classified in src/pulumi. */
export class PulumiError extends GantryError {}

/** An AWS API failure, classified in src/aws. */
export class AwsError extends GantryError {}

/** Render an unknown thrown value as a single line, without stack traces. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .join(" ")
    .slice(0, 500);
}

/** The exit codes of every command (DESIGN.md "Contracts"); the only table of them. */
export const EXIT = {
  /** Done; for deploy and rollback: deployed and verified healthy. */
  ok: 0,
  /** Failed before any change; nothing changed. */
  failed: 1,
  /** Bad command line or unknown environment. */
  usage: 2,
  /** Failed, rolled back, the previous version verified healthy. */
  rolledBack: 3,
  /** Failed and the rollback did not verify: a human is needed. */
  rollbackUnverified: 4,
  /** Locked by another deploy. */
  locked: 5,
  /** Interrupted; cancelled cleanly (the journal says whether anything was touched). */
  interrupted: 130,
} as const;

/** The exit code of a command that failed with `err` before it could report a result. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ConfigError && err.code === "UNKNOWN_ENV") return EXIT.usage;
  return EXIT.failed;
}
