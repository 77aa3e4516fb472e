/**
 * The per-environment deploy lock, held in the shared store (StorePort) with conditional writes,
 * so two deploys to one environment can never both proceed, from any machine. The holder is named
 * (who, where, which process, since when) and carries a lease that the holder renews; a lock is
 * taken over only when its holder is provably gone (same host, process dead) or its lease expired.
 */
import os from "node:os";
import type { StorePort } from "../aws/ports.ts";
import { isAlive } from "../tools/pid.ts";

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
  private readonly store: StorePort;
  private readonly key: string;
  private readonly clock: LockClock;
  private readonly leaseMs: number;

  constructor(store: StorePort, env: string, clock: LockClock, leaseMs = 5 * 60_000) {
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
    const ours =
      current?.holder.deploymentId === lock.holder.deploymentId &&
      current.holder.host === lock.holder.host &&
      current.holder.pid === lock.holder.pid;
    return ours ? this.store.deleteIfMatch(this.key, current.etag) : false;
  }
}
