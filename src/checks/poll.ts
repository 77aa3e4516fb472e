/**
 * The one deadline-bound poller (DESIGN.md house style 7): every wait has a deadline, an interval
 * capped at 2 s and an AbortSignal, and says truthfully how it ended.
 */

/** Longest allowed gap between two observations. */
export const MAX_POLL_INTERVAL_MS = 2000;

/** What one observation decided. */
export type PollDecision<T> =
  { readonly done: true; readonly value: T } | { readonly done: false; readonly progress?: string };

/** How a wait ended. */
export type PollOutcome<T> =
  | { readonly status: "done"; readonly value: T; readonly attempts: number; readonly elapsedMs: number }
  | {
      readonly status: "timeout";
      readonly attempts: number;
      readonly elapsedMs: number;
      readonly lastProgress?: string;
    }
  | {
      readonly status: "aborted";
      readonly attempts: number;
      readonly elapsedMs: number;
      readonly lastProgress?: string;
    };

/** Options of {@link poll}. */
export interface PollOptions {
  /** Absolute deadline (ms since epoch). */
  readonly deadline: number;
  /** Gap between observations; clamped to [10, 2000] ms. */
  readonly intervalMs: number;
  readonly signal?: AbortSignal;
  /** Called when the progress text changes, for "progress on long waits". */
  readonly onProgress?: (progress: string) => void;
  /** Injectable clock and sleep for tests. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Observe until `observe` says done, the deadline passes, or the signal aborts. An observation
 * that throws ends the wait with that error (transient errors are retried inside the adapters).
 */
export async function poll<T>(
  observe: () => Promise<PollDecision<T>>,
  options: PollOptions,
): Promise<PollOutcome<T>> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const interval = Math.min(MAX_POLL_INTERVAL_MS, Math.max(10, options.intervalMs));
  const started = now();
  let attempts = 0;
  let lastProgress: string | undefined;
  for (;;) {
    if (options.signal?.aborted)
      return {
        status: "aborted",
        attempts,
        elapsedMs: now() - started,
        ...(lastProgress ? { lastProgress } : {}),
      };
    attempts += 1;
    const decision = await observe();
    if (decision.done) return { status: "done", value: decision.value, attempts, elapsedMs: now() - started };
    if (decision.progress !== undefined && decision.progress !== lastProgress) {
      lastProgress = decision.progress;
      options.onProgress?.(decision.progress);
    }
    const remaining = options.deadline - now();
    if (remaining <= 0)
      return {
        status: "timeout",
        attempts,
        elapsedMs: now() - started,
        ...(lastProgress ? { lastProgress } : {}),
      };
    await sleep(Math.min(interval, remaining), options.signal);
  }
}
