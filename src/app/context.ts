/**
 * What every use case gets: the long-lived collaborators built once in src/main.ts (the folders,
 * the secret masker, the one AWS client factory, who runs gantry) and the reporter of this run.
 */
import type { AwsClientFactory } from "../aws/factory.ts";
import { type EnvironmentName, environmentsIn, parseEnvironmentName } from "../config/environments.ts";
import type { EnvironmentPaths, Runtime } from "../config/runtime.ts";
import { UsageError } from "../errors.ts";
import type { ActionsContext } from "../github/context.ts";
import type { SecretMasker } from "../reporting/mask.ts";
import type { Reporter } from "../reporting/reporter.ts";

/** The application's collaborators. */
export interface AppContext {
  readonly paths: EnvironmentPaths;
  /** Who runs gantry and where (recorded in the lock and the ledger). */
  readonly runtime: Runtime;
  /** Secrets registered here never reach any output. */
  readonly masker: SecretMasker;
  /** The one SDK configuration: every AWS client of the run comes from it. */
  readonly aws: AwsClientFactory;
  /** Where every event of this run goes (terminal, CI log, JSON, GitHub, Slack). */
  readonly reporter: Reporter;
  /** The GitHub Actions run this process is a step of (src/config/hosts.ts); undefined elsewhere. */
  readonly actions: ActionsContext | undefined;
  /** Ask the person at the terminal (stdin and stderr are terminals); undefined when nobody can answer. */
  readonly ask?: (question: string) => Promise<string>;
}

/** What every use case returns: its typed result and the process exit code it stands for. */
export interface Outcome {
  readonly exitCode: number;
}

/** `name` if the config folder has its Pulumi.<name>.yaml; a usage error listing the ones it has otherwise. */
export function environmentNamed(app: Pick<AppContext, "paths">, name: string): EnvironmentName {
  return parseEnvironmentName(name, environmentsIn(app.paths.configDir));
}

/** The environment `to` is promoted from: one of this project's, not `to` itself. */
export function sourceEnvironment(app: Pick<AppContext, "paths">, from: string, to: string): EnvironmentName {
  const env = environmentNamed(app, from);
  if (env === to)
    throw new UsageError(`${to} cannot be promoted from itself`, "name the environment before it");
  return env;
}
