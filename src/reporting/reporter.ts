/**
 * The Reporter port: every line gantry shows goes through typed events, so the terminal, a CI
 * log, JSON output, GitHub and Slack are interchangeable hosts. A host that talks to the network
 * (src/reporting/github.ts, slack.ts) does its work in the background and is awaited with
 * {@link Reporter.flush}; its failures become warnings, never exceptions.
 */
import { GantryError, oneLine } from "../errors.ts";
import type { RunCrash, RunEnd, RunStart } from "./events.ts";
import { formatDuration, renderResult, type ResultView } from "./human.ts";

/** Events the app emits. */
export type ReportEvent =
  | { readonly type: "info"; readonly message: string }
  | { readonly type: "warn"; readonly message: string }
  | { readonly type: "progress"; readonly message: string }
  | { readonly type: "engine"; readonly line: string }
  | { readonly type: "step-start"; readonly name: string }
  | {
      readonly type: "step-end";
      readonly name: string;
      /** succeeded | failed | skipped | undone | undo_failed */
      readonly status: string;
      readonly durationMs: number;
      readonly detail?: string | undefined;
    }
  /**
   * What a command found or did: `data` is the `--json` document; on a terminal the `view`'s own
   * rendering (src/reporting/human.ts), or the title and the data as YAML.
   */
  | { readonly type: "result"; readonly title: string; readonly data: unknown; readonly view?: ResultView }
  /** A deploy or rollback starts (GitHub: deployment and `in_progress` status; Slack: start post). */
  | ({ readonly type: "run-start" } & RunStart)
  /** It returned a result (GitHub: statuses, job summary, outputs, annotation; Slack: outcome). */
  | ({ readonly type: "run-end" } & RunEnd)
  /** It threw instead of returning a result. */
  | ({ readonly type: "run-crash" } & RunCrash);

/** Sink of {@link ReportEvent}s. */
export interface Reporter {
  /** Take one event; never throws for a host's failure, never waits for a host's network call. */
  emit(event: ReportEvent): void;
  /**
   * Resolves when the work the events so far started is done (hosts that call the network; every
   * call is deadline-bound). Never rejects: a failure was reported as a warning.
   */
  flush?(): Promise<void>;
}

/**
 * Run a host's work; a failure becomes a warning on `reporter` naming `what`, never an exception.
 */
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

/**
 * Several hosts as one reporter: every event goes to each host in order, `flush` waits for all.
 * A host that throws is reported as a warning to the others and does not stop them.
 */
export function fanOut(hosts: readonly Reporter[]): Reporter {
  const warnOthers = (failed: Reporter, what: string, err: unknown): void => {
    const warning: ReportEvent = { type: "warn", message: `${what} failed: ${oneLine(err)}` };
    for (const host of hosts) {
      if (host === failed) continue;
      try {
        host.emit(warning);
      } catch {
        // A host that cannot take a warning has nothing left to tell.
      }
    }
  };
  return {
    emit(event) {
      for (const host of hosts) {
        try {
          host.emit(event);
        } catch (err) {
          warnOthers(host, `reporting ${event.type}`, err);
        }
      }
    },
    async flush() {
      await Promise.all(
        hosts.map(async (host) => {
          try {
            await host.flush?.();
          } catch (err) {
            warnOthers(host, "reporting", err);
          }
        }),
      );
    },
  };
}

/** Writable streams a host prints to (injectable for tests). */
export interface Streams {
  readonly out: { write(text: string): unknown };
  readonly err: { write(text: string): unknown };
}

const processStreams: Streams = { out: process.stdout, err: process.stderr };

/**
 * Human host: progress and engine lines on stderr (engine lines only with `verbose`), results on
 * stdout as indented JSON under a title.
 */
export class TerminalReporter implements Reporter {
  private readonly streams: Streams;
  private readonly verbose: boolean;
  private readonly started = Date.now();

  constructor(options: { verbose?: boolean; streams?: Streams } = {}) {
    this.streams = options.streams ?? processStreams;
    this.verbose = options.verbose ?? false;
  }

  emit(event: ReportEvent): void {
    const t = `${((Date.now() - this.started) / 1000).toFixed(1).padStart(5)}s`;
    switch (event.type) {
      case "info":
        this.streams.err.write(`${t}  ${event.message}\n`);
        break;
      case "progress":
        this.streams.err.write(`${t}  … ${event.message}\n`);
        break;
      case "warn":
        this.streams.err.write(`${t}  warning: ${event.message}\n`);
        break;
      case "engine":
        if (this.verbose) this.streams.err.write(event.line.endsWith("\n") ? event.line : `${event.line}\n`);
        break;
      case "step-start":
        this.streams.err.write(`${t}  … ${event.name}…\n`);
        break;
      case "step-end":
        this.streams.err.write(`${t}  ${stepOutcomeOk(event.status) ? "" : "warning: "}${stepLine(event)}\n`);
        break;
      case "result":
        this.streams.out.write(renderResult(event.title, event.data, event.view));
        break;
    }
  }
}

/** Whether a step status is a good outcome (an undo that worked is one). */
export function stepOutcomeOk(status: string): boolean {
  return status === "succeeded" || status === "undone" || status === "skipped";
}

/** `release succeeded in 1.2 s: detail` */
export function stepLine(event: Extract<ReportEvent, { type: "step-end" }>): string {
  const detail = event.detail ? `: ${event.detail}` : "";
  return `${event.name} ${event.status} in ${formatDuration(event.durationMs)}${detail}`;
}

/** Machine host (`--json`): only results, one JSON document per line on stdout; the rest on stderr. */
export class JsonReporter implements Reporter {
  private readonly streams: Streams;

  constructor(streams: Streams = processStreams) {
    this.streams = streams;
  }

  emit(event: ReportEvent): void {
    if (event.type === "result") this.streams.out.write(`${JSON.stringify(event.data)}\n`);
    else if (event.type === "warn") this.streams.err.write(`warning: ${event.message}\n`);
    else if (event.type === "step-end" && !stepOutcomeOk(event.status))
      this.streams.err.write(`warning: ${stepLine(event)}\n`);
  }
}
