/**
 * The per-environment deploy lock, held in the shared store (ObjectStore) with conditional writes,
 * so two deploys to one environment can never both proceed, from any machine. The holder is named
 * (who, where, which process, since when) and carries a lease that the holder renews; a lock is
 * taken over only when its holder is provably gone (same host, process dead) or its lease expired.
 */
import os from "node:os";
import { oneLine } from "../errors.ts";
import { isAlive } from "../tools/pid.ts";
import type { ObjectStore } from "./store.ts";

/** {@link DeployLock.keepAlive} gives a lease up as lost when renewals fail this close to its end. */
export const LEASE_LOST_MARGIN_MS = 30_000;

/** Who holds the lock. */
export interface LockHolder {
  readonly deploymentId: string;
  readonly env: string;
  readonly actor: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
  /** ISO time after which the lock counts as abandoned unless renewed. */
  readonly leaseUntil: string;
}

/** A lock this process holds. */
export interface HeldLock {
  readonly holder: LockHolder;
  readonly etag: string;
}

/** Result of {@link DeployLock.acquire}. */
export type AcquireResult =
  | {
      readonly acquired: true;
      readonly lock: HeldLock;
      readonly tookOverFrom?: LockHolder;
      readonly why?: string;
    }
  | { readonly acquired: false; readonly holder: LockHolder };

/** Environment facts the lock needs, injectable for tests. */
export interface LockClock {
  now(): number;
  /** Our host name, to decide whether a holder's pid can be checked here. */
  readonly host: string;
  /** True when `pid` is a live process on this host. */
  isAlive(pid: number): boolean;
}

/** The real clock, host name and process table of this machine. */
export function hostClock(): LockClock {
  return { now: () => Date.now(), host: os.hostname(), isAlive };
}

/** The lock of one environment. */
export class DeployLock {
  private readonly store: ObjectStore;
  private readonly key: string;
  private readonly clock: LockClock;
  private readonly leaseMs: number;

  constructor(store: ObjectStore, env: string, clock: LockClock, leaseMs = 5 * 60_000) {
    this.store = store;
    this.key = `locks/${env}.json`;
    this.clock = clock;
    this.leaseMs = leaseMs;
  }

  /** Why an existing holder may be replaced, or undefined when it must be respected. */
  private stale(holder: LockHolder): string | undefined {
    if (Date.parse(holder.leaseUntil) < this.clock.now()) return `its lease expired at ${holder.leaseUntil}`;
    if (holder.host === this.clock.host && !this.clock.isAlive(holder.pid)) {
      return `process ${String(holder.pid)} on ${holder.host} is gone`;
    }
    return undefined;
  }

  private withLease(holder: Omit<LockHolder, "leaseUntil">): LockHolder {
    return { ...holder, leaseUntil: new Date(this.clock.now() + this.leaseMs).toISOString() };
  }

  /** The current holder, if any. */
  async holder(): Promise<{ holder: LockHolder; etag: string } | undefined> {
    const current = await this.store.get(this.key);
    return current ? { holder: JSON.parse(current.body) as LockHolder, etag: current.etag } : undefined;
  }

  /**
   * Take the lock, or say who has it. Takes over a stale lock atomically (If-Match on its version);
   * `force` (`gantry unlock --force`) takes it over even from a holder that looks alive.
   */
  async acquire(
    who: Omit<LockHolder, "leaseUntil">,
    options: { force?: boolean } = {},
  ): Promise<AcquireResult> {
    const mine = this.withLease(who);
    const created = await this.store.putIfAbsent(this.key, JSON.stringify(mine));
    if (created !== "exists") return { acquired: true, lock: { holder: mine, etag: created.etag } };
    const current = await this.holder();
    if (!current) return this.acquire(who, options); // released between our two calls
    // Our own create succeeded but its answer was lost, and the SDK's retry got 412: it is ours.
    if (sameHolder(current.holder, mine)) return { acquired: true, lock: current };
    const why = this.stale(current.holder) ?? (options.force ? "forced" : undefined);
    if (!why) return { acquired: false, holder: current.holder };
    const replaced = await this.store.putIfMatch(this.key, JSON.stringify(mine), current.etag);
    if (replaced === "changed") {
      const now = await this.holder();
      return now ? { acquired: false, holder: now.holder } : this.acquire(who, options);
    }
    return { acquired: true, lock: { holder: mine, etag: replaced.etag }, tookOverFrom: current.holder, why };
  }

  /** Extend the lease of a held lock; false if it was taken from us. */
  async renew(lock: HeldLock): Promise<HeldLock | undefined> {
    const holder = this.withLease(lock.holder);
    const res = await this.store.putIfMatch(this.key, JSON.stringify(holder), lock.etag);
    return res === "changed" ? undefined : { holder, etag: res.etag };
  }

  /**
   * Release a held lock; false if it was no longer ours. A renewal of ours that was still in flight
   * may have changed the lock's version: then the lock is released if it still names this holder.
   */
  async release(lock: HeldLock): Promise<boolean> {
    if (await this.store.deleteIfMatch(this.key, lock.etag)) return true;
    const current = await this.holder();
    return current && sameHolder(current.holder, lock.holder)
      ? this.store.deleteIfMatch(this.key, current.etag)
      : false;
  }

  /**
   * Give a lock we took over back to its previous (dead) holder, as it was — lease expired — so
   * the next deploy or `gantry unlock` takes it over again and retries what we could not finish
   * (crash recovery). False when the lock changed meanwhile.
   */
  async restore(lock: HeldLock, previous: LockHolder): Promise<boolean> {
    const res = await this.store.putIfMatch(this.key, JSON.stringify(previous), lock.etag);
    return res !== "changed";
  }

  /**
   * Keep a held lock's lease alive until stopped: renews it every `intervalMs` (a tick is skipped
   * while a renewal is still in flight, so two never overlap) and hands each renewed lock to
   * `onRenewed` — the caller keeps it and releases that one.
   *
   * `onLost` is called at most once, after which no more renewals are made, when
   * - a renewal finds the lock taken over by someone else, or
   * - renewals keep failing (or one does not answer) until the lease of the last successful renewal
   *   is within {@link LEASE_LOST_MARGIN_MS} of its end: the lock may be taken over any moment now.
   * A failed renewal before that goes to `onRenewFailed`, and the next tick tries again.
   *
   * `stop()` clears the timer and waits for a renewal in flight (a success still goes to `onRenewed`;
   * nothing is reported lost after stop), so that the lock the caller releases afterwards is the
   * latest. Callbacks must not throw; if one does, `stop()` rejects with its error. The timer is
   * unref'd: it never keeps the process alive on its own.
   */
  keepAlive(
    held: HeldLock,
    options: {
      readonly intervalMs: number;
      onRenewed(lock: HeldLock): void;
      onLost(reason: string): void;
      onRenewFailed?(error: unknown): void;
      /** Clock for the lease check (default: the lock's clock). */
      now?: () => number;
    },
  ): { stop(): Promise<void> } {
    const now = options.now ?? (() => this.clock.now());
    let current = held;
    let leaseEnd = Date.parse(held.holder.leaseUntil);
    let inFlight: Promise<void> | undefined;
    /** Set once the lease is lost or the keeper stopped: no more renewals, failures or losses reported. */
    let over = false;
    const expiring = (): boolean => leaseEnd - now() <= LEASE_LOST_MARGIN_MS;
    const lose = (reason: string): void => {
      if (over) return;
      over = true;
      clearInterval(timer);
      options.onLost(reason);
    };
    const renewOnce = async (): Promise<void> => {
      let renewed: HeldLock | undefined;
      try {
        renewed = await this.renew(current);
      } catch (err) {
        if (over) return;
        if (expiring()) {
          lose(
            `could not renew the lease, which ends at ${new Date(leaseEnd).toISOString()}: ${oneLine(err)}`,
          );
        } else {
          options.onRenewFailed?.(err);
        }
        return;
      }
      if (!renewed) {
        lose("the lock was taken over by someone else");
        return;
      }
      current = renewed;
      leaseEnd = Date.parse(renewed.holder.leaseUntil);
      options.onRenewed(renewed);
    };
    const tick = (): void => {
      if (over) return;
      if (inFlight) {
        if (expiring()) {
          lose(`a renewal has not answered, and the lease ends at ${new Date(leaseEnd).toISOString()}`);
        }
        return;
      }
      const attempt = renewOnce().finally(() => {
        inFlight = undefined;
      });
      inFlight = attempt;
      attempt.catch(() => undefined); // surfaced by stop()
    };
    const timer = setInterval(tick, options.intervalMs);
    timer.unref();
    return {
      async stop() {
        over = true;
        clearInterval(timer);
        await inFlight;
      },
    };
  }
}

/** Two holders are the same deployment of the same process. */
function sameHolder(a: LockHolder, b: LockHolder): boolean {
  return a.deploymentId === b.deploymentId && a.host === b.host && a.pid === b.pid;
}
