/**
 * Deploy notifications: the hosts that tell the outside world a deploy or rollback started and
 * how it ended — GitHub Actions (job summary, step outputs, deployment statuses, annotations;
 * src/reporting/github.ts) and Slack (src/reporting/slack.ts). Each is on only where it applies
 * (inside Actions; with GANTRY_SLACK_WEBHOOK_URL), so outside both this is a no-op.
 *
 * A notification never fails or hides a deploy: every host failure becomes a warning on the
 * reporter, and every call is deadline-bound.
 */
import { GantryError, oneLine } from "../errors.ts";
import { actionsContext } from "../github/context.ts";
import type { EnvironmentOutputs } from "../stacks/outputs.ts";
import type { DeployResult } from "../steps/deploy.ts";
import type { SecretMasker } from "./mask.ts";
import type { Reporter } from "./reporter.ts";

/** What a deploy or rollback notification is about. */
export interface DeployNotice {
  readonly kind: "deploy" | "rollback";
  readonly env: string;
  readonly tag: string;
  /** gantry's deployment id (the ledger's). */
  readonly deploymentId: string;
  readonly actor: string;
  /** Why this target (rollbacks). */
  readonly reason?: string | undefined;
  /** Link to the CI run, if any. */
  readonly runUrl?: string | undefined;
}

/** What the deploy established that hosts may show (the environment URL comes from the outputs). */
export interface DeployFactsForNotice {
  readonly outputs?: EnvironmentOutputs | undefined;
}

/** A started notification: tell it how the deploy ended. */
export interface DeployNotifier {
  /** The deploy returned a result (any status). */
  finished(result: DeployResult, facts?: DeployFactsForNotice): Promise<void>;
  /** The deploy threw instead of returning a result (a gantry bug or an environment failure). */
  crashed(error: unknown): Promise<void>;
}

/** The one-line message and hint of a deploy error, for hosts. */
export function describeError(error: unknown): { message: string; hint: string | undefined } | undefined {
  if (error === undefined) return undefined;
  return { message: oneLine(error), hint: error instanceof GantryError ? error.hint : undefined };
}

/** Run a host's work; a failure becomes a warning naming `what`, never an exception. */
export async function warnOnFailure(
  reporter: Reporter,
  what: string,
  work: () => Promise<unknown>,
): Promise<void> {
  try {
    await work();
  } catch (err) {
    const hint = err instanceof GantryError && err.hint ? ` (hint: ${err.hint})` : "";
    reporter.emit({ type: "warn", message: `${what} failed: ${oneLine(err)}${hint}` });
  }
}

/** Several notifiers as one. */
export function combineNotifiers(notifiers: readonly DeployNotifier[]): DeployNotifier {
  return {
    async finished(result, facts) {
      await Promise.all(notifiers.map((n) => n.finished(result, facts)));
    },
    async crashed(error) {
      await Promise.all(notifiers.map((n) => n.crashed(error)));
    },
  };
}

/**
 * Register the tokens gantry is handed through the environment with the masker: GITHUB_TOKEN,
 * GANTRY_SLACK_WEBHOOK_URL and the webhook's path (the secret part, wherever it is printed alone).
 * Called once at startup (src/main.ts), before any command runs, so every command and every
 * error message is masked, not only the ones that use the tokens.
 */
export function registerTokenSecrets(masker: SecretMasker, env: NodeJS.ProcessEnv = process.env): void {
  masker.add(env.GITHUB_TOKEN);
  const webhookUrl = env.GANTRY_SLACK_WEBHOOK_URL?.trim() || undefined;
  masker.add(webhookUrl);
  if (webhookUrl) masker.add(/^[a-z]+:\/\/[^/]+(\/.{8,})$/i.exec(webhookUrl)?.[1]);
}

/** Options of {@link deployNotifier}. */
export interface DeployNotifierOptions {
  readonly notice: Omit<DeployNotice, "runUrl">;
  readonly reporter: Reporter;
  /** Redacts everything sent (GITHUB_TOKEN and the webhook URL: {@link registerTokenSecrets}). */
  readonly masker: SecretMasker;
  /** Default: process.env (read here, once, at the edge). */
  readonly env?: NodeJS.ProcessEnv;
  /** Where workflow commands (`::error …`) go; default stderr (the runner reads both streams). */
  readonly annotate?: (line: string) => void;
  /** Test seam: deadlines and retries of GitHub and Slack calls. */
  readonly network?: { readonly timeoutMs?: number; readonly retries?: number };
}

/**
 * Start the notifications of one deploy or rollback: in GitHub Actions, create the GitHub
 * deployment and its `in_progress` status; with GANTRY_SLACK_WEBHOOK_URL, post the start to
 * Slack. Returns the notifier to call when the deploy is over. Never throws.
 */
export async function deployNotifier(options: DeployNotifierOptions): Promise<DeployNotifier> {
  const env = options.env ?? process.env;
  const { reporter, masker } = options;
  const webhookUrl = env.GANTRY_SLACK_WEBHOOK_URL?.trim() || undefined;
  const actions = actionsContext(env);
  const notice: DeployNotice = { ...options.notice, runUrl: actions?.runUrl };
  const annotate = options.annotate ?? ((line: string) => process.stderr.write(masker.redact(line)));
  const starting: Promise<DeployNotifier>[] = [];
  if (actions) {
    const { startGitHubHost } = await import("./github.ts");
    starting.push(
      startGitHubHost({
        context: actions,
        notice,
        reporter,
        redact: (text) => masker.redact(text),
        annotate,
        ...(options.network ? { network: options.network } : {}),
      }),
    );
  }
  if (webhookUrl) {
    const { startSlackHost } = await import("./slack.ts");
    starting.push(
      startSlackHost({
        webhookUrl,
        notice,
        reporter,
        redact: (text) => masker.redact(text),
        ...(options.network ? { network: options.network } : {}),
      }),
    );
  }
  return combineNotifiers(await Promise.all(starting));
}
