/** What the command line gets from the composition root (src/main.ts). */
import type { AppContext } from "../app/context.ts";
import type { SecretMasker } from "../reporting/mask.ts";

/** Flags every command accepts. */
export interface GlobalArgs {
  json: boolean;
  verbose: boolean;
}

/** The application, built once in src/main.ts, and the masker every printed line goes through. */
export interface CliContext {
  /** The application with the reporter the global flags ask for (built on first use, then kept). */
  app(flags: GlobalArgs): AppContext;
  /** The environments `--env` accepts: one per Pulumi.<env>.yaml in the config folder. */
  readonly environments: readonly string[];
  /** Secrets (hook headers, webhook URLs, tokens) registered here never reach any output. */
  readonly masker: SecretMasker;
}
