/**
 * The interactive host: a live step list on a terminal. The running step has a spinner with its
 * elapsed time and latest progress ("migration RUNNING", "snapshot … 40%"); a finished step stays
 * as one line with its outcome and timing. Other lines (info, warnings, verbose engine output) are
 * printed above the spinner. Results go to stdout as in the plain host. Used only when stderr is a
 * TTY and not in CI; CI logs get the plain timestamped lines of {@link TerminalReporter}.
 */
import ora, { type Ora } from "ora";
import { renderResult } from "./human.ts";
import { type ReportEvent, type Reporter, type Streams, stepLine, stepOutcomeOk } from "./reporter.ts";

/** Symbols for finished steps by status. */
const SYMBOL: Readonly<Record<string, string>> = {
  succeeded: "✔",
  undone: "↩",
  skipped: "–",
  failed: "✖",
  undo_failed: "✖",
};

/** Live step list with spinners and timings (ora). */
export class TtyReporter implements Reporter {
  private readonly streams: Streams;
  private readonly verbose: boolean;
  private readonly spinner: Ora;
  private step: { name: string; started: number; progress: string } | undefined;
  private ticker: NodeJS.Timeout | undefined;

  constructor(options: {
    verbose?: boolean;
    streams: Streams & { err: NodeJS.WritableStream };
    /** Force animation on or off (default: ora decides from the stream). */
    animate?: boolean;
  }) {
    this.streams = options.streams;
    this.verbose = options.verbose ?? false;
    this.spinner = ora({
      stream: options.streams.err,
      discardStdin: false, // keep Ctrl+C a real SIGINT: the deploy handles it
      ...(options.animate === undefined ? {} : { isEnabled: options.animate }),
    });
  }

  private text(): string {
    if (!this.step) return "";
    const seconds = ((Date.now() - this.step.started) / 1000).toFixed(0);
    return `${this.step.name} ${seconds}s${this.step.progress ? ` — ${this.step.progress}` : ""}`;
  }

  /** Print a line above the spinner. */
  private line(text: string): void {
    const spinning = this.spinner.isSpinning;
    if (spinning) this.spinner.clear();
    this.streams.err.write(`${text}\n`);
    if (spinning) this.spinner.render();
  }

  emit(event: ReportEvent): void {
    switch (event.type) {
      case "step-start":
        this.step = { name: event.name, started: Date.now(), progress: "" };
        this.spinner.start(this.text());
        clearInterval(this.ticker);
        this.ticker = setInterval(() => {
          this.spinner.text = this.text();
        }, 1000);
        this.ticker.unref();
        break;
      case "step-end": {
        clearInterval(this.ticker);
        const symbol = SYMBOL[event.status] ?? (stepOutcomeOk(event.status) ? "✔" : "✖");
        this.step = undefined;
        if (this.spinner.isSpinning) this.spinner.stopAndPersist({ symbol, text: stepLine(event) });
        else this.line(`${symbol} ${stepLine(event)}`);
        break;
      }
      case "progress":
        if (this.step) {
          this.step.progress = event.message;
          this.spinner.text = this.text();
        } else {
          this.line(`… ${event.message}`);
        }
        break;
      case "info":
        this.line(`  ${event.message}`);
        break;
      case "warn":
        this.line(`  warning: ${event.message}`);
        break;
      case "engine":
        if (this.verbose) this.line(event.line.replace(/\n$/, ""));
        break;
      case "result":
        if (this.spinner.isSpinning) this.spinner.stop();
        clearInterval(this.ticker);
        this.streams.out.write(renderResult(event.title, event.data, event.view));
        break;
    }
  }
}
