/**
 * SIGINT/SIGTERM while a use case changes an environment. The handlers stay registered until the
 * work is over: libraries that re-raise a signal when no other listener is left (signal-exit,
 * used under the Automation API) would otherwise kill the process mid-undo.
 */
import { GantryError } from "../errors.ts";
import type { Reporter } from "../reporting/reporter.ts";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

async function withHandler<T>(handler: (signal: NodeJS.Signals) => void, work: () => Promise<T>): Promise<T> {
  for (const s of SIGNALS) process.on(s, handler);
  try {
    return await work();
  } finally {
    for (const s of SIGNALS) process.removeListener(s, handler);
  }
}

/**
 * Run `work` with an AbortSignal that the first SIGINT/SIGTERM aborts (a clean stop: the stack
 * update gets one SIGINT, a release is rolled back); later signals are only acknowledged.
 */
export function interruptible<T>(reporter: Reporter, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  return withHandler(
    (signal) => {
      if (controller.signal.aborted) {
        reporter.emit({ type: "warn", message: `${signal}: still stopping cleanly; please wait` });
        return;
      }
      reporter.emit({
        type: "warn",
        message: `${signal}: stopping cleanly (rolling back what was started)…`,
      });
      controller.abort(new GantryError(`interrupted by ${signal}`, { code: "INTERRUPTED" }));
    },
    () => work(controller.signal),
  );
}

/** Run `work` acknowledging SIGINT/SIGTERM without stopping: stopping a recovery half way helps nobody. */
export function uninterruptible<T>(reporter: Reporter, doing: string, work: () => Promise<T>): Promise<T> {
  return withHandler((signal) => {
    reporter.emit({ type: "warn", message: `${signal}: ${doing}; please wait for it to finish` });
  }, work);
}
