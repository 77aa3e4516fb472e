/**
 * The Reporter port's composition: several hosts as one (fanOut), a host's failure as a warning
 * (warnOnFailure, fanOut), and the masking wrapper in front of hosts that work in the background.
 */
import { describe, expect, it } from "vitest";
import { GantryError } from "../../../src/errors.ts";
import { maskingReporter, SecretMasker } from "../../../src/reporting/mask.ts";
import { fanOut, type ReportEvent, type Reporter, warnOnFailure } from "../../../src/reporting/reporter.ts";
import { collectingReporter, rolledBack } from "../github/fixtures.ts";
import { runEnd } from "../../../src/reporting/events.ts";

/** A host that does its work in the background, like the GitHub and Slack hosts. */
function slowHost(ms: number): Reporter & { done: string[] } {
  const done: string[] = [];
  let pending = Promise.resolve();
  return {
    done,
    emit(event) {
      pending = pending.then(
        () =>
          new Promise((resolve) => {
            setTimeout(() => {
              done.push(event.type);
              resolve();
            }, ms);
          }),
      );
    },
    flush: () => pending,
  };
}

const start: ReportEvent = {
  type: "run-start",
  kind: "deploy",
  env: "prod",
  tag: "v1.2.3",
  deploymentId: "20261122T101500Z-3f9a1c",
  actor: "alice",
};

describe("fanOut", () => {
  it("GIVEN a terminal host and two background hosts WHEN events are emitted THEN each host gets every event in order, and flush waits for all their work", async () => {
    const terminal = collectingReporter();
    const slow = slowHost(30);
    const slower = slowHost(60);
    const reporter = fanOut([terminal, slow, slower]);

    reporter.emit({ type: "info", message: "hello" });
    reporter.emit(start);
    expect(terminal.events.map((e) => e.type)).toEqual(["info", "run-start"]);
    expect([slow.done, slower.done]).toEqual([[], []]);

    await reporter.flush?.();
    expect(slow.done).toEqual(["info", "run-start"]);
    expect(slower.done).toEqual(["info", "run-start"]);
  });

  it("GIVEN a host that throws on an event WHEN it is emitted THEN the other hosts still get it and are warned, and nothing is thrown", () => {
    const before = collectingReporter();
    const after = collectingReporter();
    const broken: Reporter = {
      emit() {
        throw new Error("host exploded");
      },
    };
    const reporter = fanOut([before, broken, after]);

    expect(() => {
      reporter.emit(start);
    }).not.toThrow();

    for (const host of [before, after]) {
      expect(host.events.map((e) => e.type)).toEqual(
        host === before ? ["run-start", "warn"] : ["warn", "run-start"],
      );
      expect(host.warnings()).toEqual(["reporting run-start failed: host exploded"]);
    }
  });

  it("GIVEN a host whose flush rejects WHEN flushed THEN flush resolves and the others are warned", async () => {
    const terminal = collectingReporter();
    const broken: Reporter = {
      emit: () => undefined,
      flush: () => Promise.reject(new Error("socket hang up")),
    };
    await expect(fanOut([terminal, broken]).flush?.()).resolves.toBeUndefined();
    expect(terminal.warnings()).toEqual(["reporting failed: socket hang up"]);
  });
});

describe("warnOnFailure", () => {
  it("GIVEN a host's work that fails with a hint WHEN run THEN one warning with the hint, and no exception", async () => {
    const reporter = collectingReporter();
    await warnOnFailure(reporter, "Slack notification", () =>
      Promise.reject(
        new GantryError("Slack answered 404", { code: "SLACK_REFUSED", hint: "create a new webhook" }),
      ),
    );
    expect(reporter.warnings()).toEqual([
      "Slack notification failed: Slack answered 404 (hint: create a new webhook)",
    ]);
  });

  it("GIVEN a host's work that succeeds WHEN run THEN nothing is reported", async () => {
    const reporter = collectingReporter();
    await warnOnFailure(reporter, "GitHub job summary", () => Promise.resolve("ok"));
    expect(reporter.events).toEqual([]);
  });
});

describe("maskingReporter in front of hosts", () => {
  it("GIVEN a secret in a run's error WHEN the run-end event passes the mask THEN the host sees it masked, and flush reaches the host", async () => {
    const masker = new SecretMasker();
    masker.add("s3cret-token-value");
    const host = slowHost(10);
    const seen: ReportEvent[] = [];
    const reporter = maskingReporter(
      {
        emit(event) {
          seen.push(event);
          host.emit(event);
        },
        flush: () => host.flush?.() ?? Promise.resolve(),
      },
      masker,
    );

    reporter.emit({ type: "run-end", ...runEnd(rolledBack("token s3cret-token-value leaked")) });
    await reporter.flush?.();

    expect(host.done).toEqual(["run-end"]);
    const [event] = seen;
    expect(event?.type === "run-end" && event.error?.message).toBe("gates failed: token *** leaked");
    expect(JSON.stringify(seen)).not.toContain("s3cret-token-value");
  });
});
