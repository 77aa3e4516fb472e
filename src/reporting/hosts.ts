/**
 * The hosts beyond the terminal: GitHub inside GitHub Actions, Slack with a webhook. Which are on
 * is decided by the settings src/config/hosts.ts reads; only their modules are loaded, so a
 * command outside both pays for neither. Put them beside the terminal host with `fanOut` (src/reporting/reporter.ts).
 */
import type { ActionsContext } from "../github/context.ts";
import type { Reporter } from "./reporter.ts";

/** What turns the remote hosts on (the fields of src/config/hosts.ts's HostSettings they read). */
export interface RemoteHostSettings {
  /** The Actions run: the GitHub host is on inside GitHub Actions. */
  readonly actions: ActionsContext | undefined;
  /** The Slack host is on when set. */
  readonly slackWebhookUrl: string | undefined;
}

/** What every remote host is built with. */
export interface RemoteHostOptions {
  /** Where the hosts' warnings and notes go: the terminal (or JSON) host. */
  readonly log: Reporter;
  /** Applied to everything a host writes or sends (the secret masker). */
  readonly redact: (text: string) => string;
  /** Where GitHub's `::error` lines go (default stderr). */
  readonly annotate?: (line: string) => void;
  /** Test seam: deadlines and retries of GitHub and Slack calls. */
  readonly network?: { readonly timeoutMs?: number; readonly retries?: number };
}

/** Builds the remote hosts the settings turn on (none outside Actions and without a webhook). */
export type RemoteHosts = (options: RemoteHostOptions) => Reporter[];

/** Load the modules of the hosts `settings` turn on; returns what builds them. */
export async function loadRemoteHosts(settings: RemoteHostSettings): Promise<RemoteHosts> {
  const { actions, slackWebhookUrl } = settings;
  const github = actions ? { context: actions, module: await import("./github.ts") } : undefined;
  const slack = slackWebhookUrl
    ? { webhookUrl: slackWebhookUrl, module: await import("./slack.ts") }
    : undefined;
  return ({ log, redact, annotate, network }) => {
    const hosts: Reporter[] = [];
    const common = { log, redact, ...(network ? { network } : {}) };
    if (github) {
      hosts.push(
        new github.module.GitHubHost({
          ...common,
          context: github.context,
          ...(annotate ? { annotate } : {}),
        }),
      );
    }
    if (slack) {
      hosts.push(
        new slack.module.SlackHost({ ...common, webhookUrl: slack.webhookUrl, runUrl: actions?.runUrl }),
      );
    }
    return hosts;
  };
}
