import type { EnvironmentPaths } from "../steps/environment.ts";
import type { SecretMasker } from "../reporting/mask.ts";
import type { Reporter } from "../reporting/reporter.ts";

/** What every command handler gets from the composition root (src/main.ts). */
export interface CliContext {
  readonly paths: EnvironmentPaths;
  /** Built once per run from the global --json/--verbose flags; masks every secret in {@link masker}. */
  reporter(options: { json: boolean; verbose: boolean }): Reporter;
  /** Secrets (hook headers, webhook URLs, tokens) registered here never reach any output. */
  readonly masker: SecretMasker;
}
