/**
 * The Slack host: notifications through an incoming webhook
 * (https://api.slack.com/messaging/webhooks), one message when a deploy or rollback starts
 * (`run-start`), and one when it succeeds, is rolled back or fails (`run-end`, `run-crash`).
 * On only when GANTRY_SLACK_WEBHOOK_URL is set. The webhook URL is a secret (anyone holding it can
 * post): it is registered with the masker at startup (registerTokenSecrets in
 * src/reporting/mask.ts) and never appears in an error message (only its host does).
 */
import pRetry from "p-retry";
import { GantryError, oneLine } from "../errors.ts";
import type { RunRecord, RunStart } from "./events.ts";
import { escapeEntities } from "./markdown.ts";
import { formatDuration } from "./human.ts";
import { type ReportEvent, type Reporter, warnOnFailure } from "./reporter.ts";

/** A Slack webhook call failed (never fails a deploy: reported as a warning). */
export class SlackError extends GantryError {}

/** A Slack incoming-webhook message (`text` is Slack mrkdwn). */
export interface SlackMessage {
  readonly text: string;
}

/** Options of {@link postSlackMessage}. */
export interface SlackPostOptions {
  /** Deadline of one attempt (default 10,000 ms). */
  readonly timeoutMs?: number;
  /** Retries of a 5xx/429/connection failure (default 2). */
  readonly retries?: number;
  readonly signal?: AbortSignal;
}

/**
 * Escape text for Slack mrkdwn: only `&`, `<`, `>` are control characters there (Slack shows other
 * entities, and markdown backslashes, literally — so GitHub's escaping would garble a message).
 */
export function slackEscape(text: string): string {
  return escapeEntities(text);
}

function webhookHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "(invalid URL)";
  }
}

/** Check a webhook URL before use: http(s) only. Throws {@link SlackError} (without the URL). */
export function parseWebhookUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SlackError("GANTRY_SLACK_WEBHOOK_URL is not a URL", {
      code: "SLACK_BAD_URL",
      source: "user",
      hint: "set it to the incoming webhook URL Slack gave you (https://hooks.slack.com/services/…)",
    });
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new SlackError(`GANTRY_SLACK_WEBHOOK_URL must be an https URL, not ${parsed.protocol}`, {
      code: "SLACK_BAD_URL",
      source: "user",
      hint: "set it to the incoming webhook URL Slack gave you (https://hooks.slack.com/services/…)",
    });
  }
  return parsed;
}

class SlackAnswer extends Error {
  readonly status: number;
  constructor(status: number, body: string) {
    super(`Slack answered ${String(status)}: ${body.slice(0, 200)}`);
    this.status = status;
  }
}

/** POST one message to the webhook; transient failures are retried; others throw {@link SlackError}. */
export async function postSlackMessage(
  webhookUrl: string,
  message: SlackMessage,
  options: SlackPostOptions = {},
): Promise<void> {
  const url = parseWebhookUrl(webhookUrl);
  const attempt = async (): Promise<void> => {
    const deadline = AbortSignal.timeout(options.timeoutMs ?? 10_000);
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(message),
      redirect: "error",
      signal: options.signal ? AbortSignal.any([deadline, options.signal]) : deadline,
    });
    const text = await response.text().catch(() => "");
    if (!response.ok) throw new SlackAnswer(response.status, text);
  };
  try {
    await pRetry(attempt, {
      retries: options.retries ?? 2,
      minTimeout: 300,
      maxTimeout: 2000,
      randomize: true,
      // 5xx, 429 and connection failures; not our own deadline (a hung webhook must not stall a deploy).
      shouldRetry: ({ error }) =>
        error instanceof SlackAnswer
          ? error.status >= 500 || error.status === 429
          : error.name !== "TimeoutError" && error.name !== "AbortError",
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    const host = webhookHost(webhookUrl);
    if (err instanceof SlackAnswer) {
      throw new SlackError(`the Slack webhook at ${host} refused the message: ${err.message}`, {
        code: "SLACK_REFUSED",
        source: err.status < 500 ? "user" : "system",
        hint:
          err.status === 404 || err.status === 403 || err.status === 410
            ? "the webhook was removed or revoked: create a new one and update GANTRY_SLACK_WEBHOOK_URL"
            : "check the Slack app's incoming webhook settings",
        cause: err,
      });
    }
    // fetch's own messages name the host at most; the cause is dropped so the URL cannot surface.
    throw new SlackError(`could not reach the Slack webhook at ${host}: ${oneLine(err).slice(0, 200)}`, {
      code: "SLACK_UNREACHABLE",
      source: "system",
      hint: "check that the runner can reach hooks.slack.com",
    });
  }
}

const code = (text: string): string => `\`${slackEscape(text).replace(/`/g, "'")}\``;
const link = (url: string | undefined): string => (url ? ` · <${url}|run>` : "");
const subject = (run: RunStart): string =>
  run.kind === "rollback"
    ? `rollback of *${slackEscape(run.env)}* to ${code(run.tag)}`
    : `deploy of ${code(run.tag)} to *${slackEscape(run.env)}*`;

/** The message when a deploy or rollback starts. */
export function startMessage(run: RunStart, runUrl?: string): SlackMessage {
  const why = run.reason ? ` (${slackEscape(run.reason)})` : "";
  return {
    text: `:rocket: ${subject(run)} started by ${slackEscape(run.actor)}${why} · ${code(run.deploymentId)}${link(runUrl)}`,
  };
}

/** The message when it is over: success, rolled back, or failure (with the error and its hint). */
export function finishMessage(
  run: RunStart,
  outcome: {
    readonly record: Pick<RunRecord, "status" | "durationMs" | "imageDigest" | "previous">;
    readonly exitCode: number;
    readonly error?: string | undefined;
    readonly hint?: string | undefined;
  },
  runUrl?: string,
): SlackMessage {
  const { record } = outcome;
  const took = formatDuration(record.durationMs);
  const error = outcome.error ? `\n> ${slackEscape(outcome.error)}` : "";
  const hint = outcome.hint ? `\n> next: ${slackEscape(outcome.hint)}` : "";
  const tail = ` · ${code(run.deploymentId)}${link(runUrl)}`;
  switch (record.status) {
    case "succeeded":
      return {
        text: `:white_check_mark: ${subject(run)} succeeded in ${took}${record.imageDigest ? ` (${code(record.imageDigest)})` : ""}${tail}`,
      };
    case "rolled_back":
      return {
        text: `:rewind: ${subject(run)} failed and was rolled back${record.previous ? ` to ${code(record.previous.tag)}` : ""}, verified healthy (exit ${String(outcome.exitCode)})${tail}${error}${hint}`,
      };
    default:
      return {
        text: `:x: ${subject(run)} ${record.status === "aborted" ? "was interrupted" : "failed"} (exit ${String(outcome.exitCode)})${tail}${error}${hint}`,
      };
  }
}

/** Options of {@link SlackHost}. */
export interface SlackHostOptions {
  readonly webhookUrl: string;
  /** Link to the CI run, shown in every message. */
  readonly runUrl?: string | undefined;
  /** Where the host's warnings (Slack failures) go: the terminal host. */
  readonly log: Reporter;
  /** Applied to every message before it is sent (the secret masker). */
  readonly redact: (text: string) => string;
  readonly network?: { readonly timeoutMs?: number; readonly retries?: number };
}

/** Posts the start and the outcome of each run, in order, in the background; failures are warnings. */
export class SlackHost implements Reporter {
  private readonly options: SlackHostOptions;
  private current: RunStart | undefined;
  private pending: Promise<void> = Promise.resolve();

  constructor(options: SlackHostOptions) {
    this.options = options;
  }

  emit(event: ReportEvent): void {
    const { redact, runUrl } = this.options;
    switch (event.type) {
      case "run-start": {
        const { type: _type, ...run } = event;
        this.current = run;
        this.post(startMessage(run, runUrl));
        break;
      }
      case "run-end": {
        const run = this.current;
        if (!run) break;
        const error = event.exitCode === 0 ? undefined : event.error;
        this.post(
          finishMessage(
            run,
            {
              record: event.record,
              exitCode: event.exitCode,
              // Redacted before escaping, too: an escaped secret would no longer match the masker.
              error: error ? redact(error.message) : undefined,
              hint: error?.hint ? redact(error.hint) : undefined,
            },
            runUrl,
          ),
        );
        break;
      }
      case "run-crash": {
        const run = this.current;
        if (!run) break;
        const hint = event.error.hint ? `\n> next: ${slackEscape(redact(event.error.hint))}` : "";
        this.post({
          text: `:x: ${subject(run)} stopped with an error · ${code(run.deploymentId)}${link(runUrl)}\n> ${slackEscape(redact(event.error.message))}${hint}`,
        });
        break;
      }
      default:
        break;
    }
  }

  flush(): Promise<void> {
    return this.pending;
  }

  private post(message: SlackMessage): void {
    const { log, redact, webhookUrl, network } = this.options;
    this.pending = this.pending.then(() =>
      warnOnFailure(log, "Slack notification", () =>
        postSlackMessage(webhookUrl, { text: redact(message.text) }, network),
      ),
    );
  }
}
