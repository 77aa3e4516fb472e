/**
 * The Reporter port: every line gantry shows goes through typed events, so the terminal, a CI
 * log, GitHub and JSON output are interchangeable hosts.
 */

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
  | { readonly type: "result"; readonly title: string; readonly data: unknown };

/** Sink of {@link ReportEvent}s. */
export interface Reporter {
  emit(event: ReportEvent): void;
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
        this.streams.out.write(`${event.title}\n${JSON.stringify(event.data, null, 2)}\n`);
        break;
    }
  }
}

/** Whether a step status is a good outcome (an undo that worked is one). */
export function stepOutcomeOk(status: string): boolean {
  return status === "succeeded" || status === "undone" || status === "skipped";
}

/**
 * A duration as people read it, the same in every host (terminal, job summary, deployment
 * status, Slack): `0.4 s` and `59.9 s` under a minute, then `1 min 01 s`, `60 min 00 s`.
 */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${String(Math.floor(s / 60))} min ${String(s % 60).padStart(2, "0")} s`;
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
