/**
 * Secret masking: every value registered here is replaced by `***` in everything gantry prints,
 * in the forms a secret usually leaks in — raw, base64 (standard and URL-safe), URL-encoded and
 * JSON-escaped. In GitHub Actions the values are also registered with the runner (`::add-mask::`)
 * so that output of child processes the runner captures directly is masked too.
 */
import type { ReportEvent, Reporter } from "./reporter.ts";

/** The placeholder a masked secret becomes. */
export const MASK = "***";

/**
 * Values shorter than this are not masked: masking "1" or "true" would shred every line. A secret
 * gantry reads from its environment must be at least this long (src/config/secrets.ts).
 */
export const MIN_SECRET_LENGTH = 4;

function variants(secret: string): string[] {
  const b64 = Buffer.from(secret, "utf8").toString("base64");
  const forms = [
    secret,
    b64,
    b64.replace(/=+$/, ""),
    Buffer.from(secret, "utf8").toString("base64url"),
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
  ];
  // Longest first, so a form that contains another is replaced whole.
  return [...new Set(forms)].filter((f) => f.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/** A set of secret values and the function that blanks them out of text. */
export class SecretMasker {
  private readonly forms = new Set<string>();
  private readonly onAdd: ((secret: string) => void) | undefined;

  /** `onAdd` is told about each new secret (e.g. to print `::add-mask::` in Actions). */
  constructor(options: { onAdd?: (secret: string) => void } = {}) {
    this.onAdd = options.onAdd;
  }

  /** Register a secret (and each of its lines, for multi-line values). Idempotent; ignores short values. */
  add(secret: string | undefined): void {
    if (secret === undefined) return;
    const parts = [secret, ...secret.split(/\r?\n/)]
      .map((s) => s.trim())
      .filter((s) => s.length >= MIN_SECRET_LENGTH);
    for (const part of new Set(parts)) {
      if (this.forms.has(part)) continue;
      for (const form of variants(part)) this.forms.add(form);
      this.onAdd?.(part);
    }
  }

  /** How many distinct forms are masked (for tests and diagnostics). */
  get size(): number {
    return this.forms.size;
  }

  /** `text` with every registered form replaced by {@link MASK}. */
  redact(text: string): string {
    let out = text;
    for (const form of [...this.forms].sort((a, b) => b.length - a.length)) {
      if (out.includes(form)) out = out.split(form).join(MASK);
    }
    return out;
  }

  /** A deep copy of `value` with every string redacted (for result data printed as JSON). */
  redactValue<T>(value: T): T {
    if (this.forms.size === 0) return value;
    const text = JSON.stringify(value) as string | undefined;
    return text === undefined ? value : (JSON.parse(this.redact(text)) as T);
  }
}

/** `::add-mask::` for the GitHub Actions runner (only when running in Actions). */
export function actionsMaskCommand(write: (line: string) => void): (secret: string) => void {
  return (secret) => {
    for (const line of secret.split(/\r?\n/)) if (line.trim()) write(`::add-mask::${line.trim()}\n`);
  };
}

/** The tokens gantry is handed (src/config/hosts.ts reads them from its environment). */
export interface TokenSecrets {
  /** GITHUB_TOKEN. */
  readonly githubToken: string | undefined;
  /** GANTRY_SLACK_WEBHOOK_URL. */
  readonly slackWebhookUrl: string | undefined;
}

/**
 * Register the tokens gantry is handed with the masker: GITHUB_TOKEN, GANTRY_SLACK_WEBHOOK_URL and
 * the webhook's path (the secret part, wherever it is printed alone). Called once at startup
 * (src/main.ts), before any command runs, so every command and every error message is masked, not
 * only the ones that use the tokens.
 */
export function registerTokenSecrets(masker: SecretMasker, tokens: TokenSecrets): void {
  masker.add(tokens.githubToken);
  const webhookUrl = tokens.slackWebhookUrl?.trim() || undefined;
  masker.add(webhookUrl);
  if (webhookUrl) masker.add(/^[a-z]+:\/\/[^/]+(\/.{8,})$/i.exec(webhookUrl)?.[1]);
}

/** Wraps a reporter so no event it receives carries a registered secret. */
export function maskingReporter(inner: Reporter, masker: SecretMasker): Reporter {
  return {
    async flush(): Promise<void> {
      await inner.flush?.();
    },
    emit(event: ReportEvent): void {
      switch (event.type) {
        case "engine":
          inner.emit({ ...event, line: masker.redact(event.line) });
          break;
        case "step-start":
          inner.emit(event);
          break;
        case "step-end":
          inner.emit(event.detail === undefined ? event : { ...event, detail: masker.redact(event.detail) });
          break;
        case "result":
        case "run-start":
        case "run-end":
        case "run-crash":
          inner.emit(masker.redactValue(event));
          break;
        default:
          inner.emit({ ...event, message: masker.redact(event.message) });
      }
    },
  };
}
