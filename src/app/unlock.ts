/**
 * `gantry unlock`: free an environment's deploy lock when its holder is gone (or with `force`),
 * first undoing what that holder left half done, from its journal.
 */
import { EXIT, UsageError } from "../errors.ts";
import type { LockHolder } from "../orchestrator/lock.ts";
import type { Recovery } from "../steps/recover.ts";
import { type AppContext, type Outcome, environmentNamed } from "./context.ts";
import { newDeploymentId, requestFor } from "./request.ts";
import { uninterruptible } from "./signals.ts";

/** Options of {@link unlock}. */
export interface UnlockOptions {
  readonly env: string;
  /** Take the lock even if its holder looks alive. */
  readonly force: boolean;
}

/** What {@link unlock} did. */
export interface UnlockResult extends Outcome {
  readonly released: boolean;
  readonly holder: LockHolder | null;
  readonly why: string | null;
  readonly recovery: Recovery | null;
}

/** Unlock `options.env`; reported as a `result` event. A live holder is a usage error (exit 2). */
export async function unlock(app: AppContext, options: UnlockOptions): Promise<UnlockResult> {
  const env = environmentNamed(app, options.env);
  const { wireEnvironment, deployContext } = await import("./environment.ts");
  const { takeOverFrom } = await import("../steps/recover.ts");
  const wired = await wireEnvironment(app, env);
  const request = requestFor(app.runtime, {
    env,
    tag: "",
    deploymentId: `unlock-${newDeploymentId()}`,
    skipSnapshot: true,
    skipMigrations: true,
  });
  const recovery = deployContext(wired, request, app);
  const taken = await recovery.lock.acquire(request, { force: options.force });
  if (!taken.acquired) {
    const h = taken.holder;
    throw new UsageError(
      `${env} is locked by deployment ${h.deploymentId} of ${h.actor} on ${h.host} (pid ${String(h.pid)}), which looks alive`,
      `wait for it; if you are sure it is gone: gantry unlock --env ${env} --force`,
    );
  }
  // Holding the lock ourselves, undo what a dead holder left half done, then free it.
  recovery.facts.lock = taken.lock;
  const recovered = await uninterruptible(app.reporter, "recovering", async () => {
    try {
      if (!taken.tookOverFrom) return undefined;
      if (taken.why === "forced") {
        app.reporter.emit({
          type: "warn",
          message: `--force: treating deployment ${taken.tookOverFrom.deploymentId} as gone`,
        });
      }
      return await takeOverFrom(recovery, taken.lock, taken.tookOverFrom, new AbortController().signal);
    } finally {
      // Unless a failed recovery gave the lock back to the dead holder, to be retried.
      const held = recovery.facts.lock;
      if (held) await recovery.lock.release(held);
    }
  });
  const result: UnlockResult = {
    exitCode: EXIT.ok,
    released: taken.tookOverFrom !== undefined,
    holder: taken.tookOverFrom ?? null,
    why: taken.why ?? null,
    recovery: recovered ?? null,
  };
  const { exitCode: _, ...data } = result;
  app.reporter.emit({
    type: "result",
    title: taken.tookOverFrom ? `${env} unlocked` : `${env} was not locked`,
    data,
  });
  return result;
}
