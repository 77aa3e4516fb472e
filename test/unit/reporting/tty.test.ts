import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { TerminalReporter } from "../../../src/reporting/reporter.ts";
import { TtyReporter } from "../../../src/reporting/tty.ts";

/** A fake terminal: collects what is written, says it is a TTY. */
function terminal() {
  const err = Object.assign(new PassThrough(), {
    isTTY: true,
    columns: 100,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  let text = "";
  err.on("data", (d: Buffer) => (text += d.toString()));
  let out = "";
  return { err, out: { write: (s: string) => (out += s) }, text: () => text, stdout: () => out };
}

describe("TtyReporter (live step list)", () => {
  it("GIVEN an animated terminal WHEN steps run THEN each finished step persists with its symbol, outcome and timing", () => {
    const t = terminal();
    const r = new TtyReporter({ streams: { out: t.out, err: t.err }, animate: true });
    r.emit({ type: "step-start", name: "preflight" });
    r.emit({ type: "progress", message: "resolving app:v1" });
    r.emit({ type: "info", message: "app:v1 → sha256:abc" });
    r.emit({ type: "step-end", name: "preflight", status: "succeeded", durationMs: 1234 });
    r.emit({ type: "step-start", name: "gates" });
    r.emit({ type: "step-end", name: "gates", status: "failed", durationMs: 5000, detail: "health 500" });
    r.emit({ type: "step-start", name: "release" });
    r.emit({ type: "step-end", name: "release", status: "undone", durationMs: 800 });
    r.emit({ type: "result", title: "deploy rolled_back", data: { status: "rolled_back" } });
    const text = t.text();
    expect(text).toContain("✔ preflight succeeded in 1.2 s");
    expect(text).toContain("✖ gates failed in 5.0 s: health 500");
    expect(text).toContain("↩ release undone in 0.8 s");
    expect(text).toContain("app:v1 → sha256:abc");
    // The spinner showed the step and its latest progress while it ran.
    expect(text).toMatch(/preflight \d+s — resolving app:v1/);
    // A result without a view of its own reads as its title and its data as YAML.
    expect(t.stdout()).toBe("deploy rolled_back\n  status: rolled_back\n");
  });

  it("GIVEN no animation WHEN steps run THEN plain lines still say every outcome", () => {
    const t = terminal();
    const r = new TtyReporter({ streams: { out: t.out, err: t.err }, animate: false });
    r.emit({ type: "step-start", name: "stack" });
    r.emit({ type: "step-end", name: "stack", status: "succeeded", durationMs: 2000 });
    expect(t.text()).toContain("✔ stack succeeded in 2.0 s");
  });
});

describe("TerminalReporter (CI log)", () => {
  it("GIVEN steps WHEN reported THEN timestamped plain lines, failures as warnings", () => {
    let err = "";
    const r = new TerminalReporter({
      streams: { out: { write: () => true }, err: { write: (s: string) => (err += s) } },
    });
    r.emit({ type: "step-start", name: "gates" });
    r.emit({ type: "step-end", name: "gates", status: "failed", durationMs: 1500, detail: "alarm" });
    expect(err).toMatch(/^ +\d+\.\ds {2}… gates…\n +\d+\.\ds {2}warning: gates failed in 1\.5 s: alarm\n$/);
  });
});
