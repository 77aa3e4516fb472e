import { describe, expect, it } from "vitest";
import { MAX_POLL_INTERVAL_MS, poll, type PollDecision } from "../../../src/checks/poll.ts";

/** A fake clock: sleeping advances it, so tests run instantly and deterministically. */
function clock() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => {
      sleeps.push(ms);
      t += ms;
      return Promise.resolve();
    },
    sleeps,
  };
}

describe("poll", () => {
  it("GIVEN an observation that completes on the 3rd try WHEN polled THEN done with the value and 3 attempts", async () => {
    const c = clock();
    let n = 0;
    const out = await poll(
      () => Promise.resolve<PollDecision<string>>(++n === 3 ? { done: true, value: "ok" } : { done: false }),
      { deadline: 10_000, intervalMs: 500, ...c },
    );
    expect(out).toEqual({ status: "done", value: "ok", attempts: 3, elapsedMs: 1000 });
  });

  it("GIVEN a never-done observation WHEN the deadline passes THEN timeout, with one last look at the deadline", async () => {
    const c = clock();
    const out = await poll(
      () => Promise.resolve<PollDecision<never>>({ done: false, progress: "IN_PROGRESS" }),
      {
        deadline: 2500,
        intervalMs: 1000,
        ...c,
      },
    );
    expect(out).toEqual({ status: "timeout", attempts: 4, elapsedMs: 2500, lastProgress: "IN_PROGRESS" });
    expect(c.sleeps).toEqual([1000, 1000, 500]);
  });

  it("GIVEN a 10 s interval WHEN polled THEN it is capped at 2 s", async () => {
    const c = clock();
    await poll(() => Promise.resolve<PollDecision<never>>({ done: false }), {
      deadline: 5000,
      intervalMs: 10_000,
      ...c,
    });
    expect(Math.max(...c.sleeps)).toBe(MAX_POLL_INTERVAL_MS);
  });

  it("GIVEN progress texts WHEN they change THEN onProgress hears each change once", async () => {
    const c = clock();
    const texts = ["1/3", "1/3", "2/3", "3/3"];
    const heard: string[] = [];
    let i = 0;
    await poll(
      () => {
        const p = texts[i++];
        return Promise.resolve<PollDecision<boolean>>(
          p === undefined ? { done: true, value: true } : { done: false, progress: p },
        );
      },
      { deadline: 60_000, intervalMs: 100, onProgress: (p) => heard.push(p), ...c },
    );
    expect(heard).toEqual(["1/3", "2/3", "3/3"]);
  });

  it("GIVEN an abort WHEN waiting THEN aborted promptly, with real timers", async () => {
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 50);
    const started = Date.now();
    const out = await poll(() => Promise.resolve<PollDecision<never>>({ done: false }), {
      deadline: Date.now() + 60_000,
      intervalMs: 2000,
      signal: controller.signal,
    });
    expect(out.status).toBe("aborted");
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("GIVEN an observation that throws WHEN polled THEN the error propagates", async () => {
    await expect(
      poll(() => Promise.reject(new Error("AccessDenied")), { deadline: 1000, intervalMs: 100 }),
    ).rejects.toThrow("AccessDenied");
  });
});
