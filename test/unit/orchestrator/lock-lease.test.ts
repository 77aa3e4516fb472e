import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  DeployLock,
  LEASE_LOST_MARGIN_MS,
  type HeldLock,
  type LockClock,
  type LockHolder,
} from "../../../src/orchestrator/lock.ts";
import { MemoryStore } from "../../fakes/memory-store.ts";

const who = (id: string, over: Partial<LockHolder> = {}): Omit<LockHolder, "leaseUntil"> => ({
  deploymentId: id,
  env: "prod",
  actor: "ana",
  host: "runner-1",
  pid: 100,
  startedAt: "2026-11-22T10:00:00Z",
  ...over,
});

/** Our host, where pids 100 and 200 are alive; time is Date.now() (fake under vi.useFakeTimers). */
const clock: LockClock = {
  now: () => Date.now(),
  host: "runner-1",
  isAlive: (pid) => [100, 200].includes(pid),
};

/** The create succeeds, but its answer is lost: the SDK's retry meets our own object and gets 412. */
class LostAnswerStore extends MemoryStore {
  lost = 1;

  override async putIfAbsent(key: string, body: string): Promise<{ etag: string } | "exists"> {
    const res = await super.putIfAbsent(key, body);
    if (this.lost <= 0) return res;
    this.lost -= 1;
    return "exists";
  }
}

describe("DeployLock.acquire when the answer to its create was lost", () => {
  it("GIVEN our create was applied but answered 'exists' WHEN acquiring THEN the lock is ours, with its current version", async () => {
    const store = new LostAnswerStore();
    const lock = new DeployLock(store, "prod", clock);

    const res = await lock.acquire(who("d1"));

    expect(store.lost).toBe(0);
    expect(res).toMatchObject({ acquired: true, lock: { holder: { deploymentId: "d1", pid: 100 } } });
    if (!res.acquired) throw new Error("not acquired");
    expect(res.lock.etag).toBe(store.objects.get("locks/prod.json")?.etag);
    expect(res).not.toHaveProperty("tookOverFrom");
    // Another process of the same deployment id is not us: it is refused.
    expect(await new DeployLock(store, "prod", clock).acquire(who("d1", { pid: 200 }))).toMatchObject({
      acquired: false,
      holder: { pid: 100 },
    });
    expect(await lock.release(res.lock)).toBe(true);
    expect(await lock.holder()).toBeUndefined();
  });
});

/** A promise with its resolve/reject outside. */
function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Renewals (putIfMatch) can be made to fail or to wait; counts them and how many run at once. */
class RenewStore extends MemoryStore {
  failing = false;
  gate: Promise<void> | undefined;
  renewals = 0;
  running = 0;
  maxRunning = 0;

  override async putIfMatch(key: string, body: string, etag: string): Promise<{ etag: string } | "changed"> {
    this.renewals += 1;
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.gate) await this.gate;
      if (this.failing) throw new Error("connect ECONNRESET");
      return await super.putIfMatch(key, body, etag);
    } finally {
      this.running -= 1;
    }
  }
}

describe("DeployLock.keepAlive", () => {
  const LEASE_MS = 60_000;
  const EVERY_MS = 10_000;
  let store: RenewStore;
  let lock: DeployLock;
  let held: HeldLock;
  let renewed: HeldLock[];
  let lost: string[];
  let failures: unknown[];

  beforeEach(async () => {
    vi.useFakeTimers({ now: Date.parse("2026-11-22T10:00:00Z") });
    store = new RenewStore();
    lock = new DeployLock(store, "prod", clock, LEASE_MS);
    const res = await lock.acquire(who("d1"));
    if (!res.acquired) throw new Error("not acquired");
    held = res.lock;
    renewed = [];
    lost = [];
    failures = [];
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  const keep = () =>
    lock.keepAlive(held, {
      intervalMs: EVERY_MS,
      onRenewed: (l) => renewed.push(l),
      onLost: (reason) => lost.push(reason),
      onRenewFailed: (err) => failures.push(err),
    });

  it("GIVEN a held lock WHEN kept alive THEN its lease is renewed every interval and each renewed lock handed over", async () => {
    const keeper = keep();

    await vi.advanceTimersByTimeAsync(35_000);
    await keeper.stop();

    expect(renewed.map((l) => l.holder.leaseUntil)).toEqual([
      "2026-11-22T10:01:10.000Z",
      "2026-11-22T10:01:20.000Z",
      "2026-11-22T10:01:30.000Z",
    ]);
    // Each renewal used the previous one's version: the last is the store's current one.
    expect(renewed.at(-1)?.etag).toBe(store.objects.get("locks/prod.json")?.etag);
    expect(lost).toEqual([]);
  });

  it("GIVEN someone takes the lock over WHEN the next renewal runs THEN onLost is called once and renewals stop", async () => {
    const keeper = keep();
    await vi.advanceTimersByTimeAsync(EVERY_MS);
    const taken = await new DeployLock(store, "prod", clock).acquire(who("u1", { pid: 200 }), {
      force: true,
    });
    expect(taken.acquired).toBe(true);
    const renewalsAtTakeover = store.renewals;

    await vi.advanceTimersByTimeAsync(5 * EVERY_MS);
    await keeper.stop();

    expect(lost).toEqual(["the lock was taken over by someone else"]);
    expect(store.renewals).toBe(renewalsAtTakeover + 1);
    expect(renewed).toHaveLength(1);
  });

  it("GIVEN renewals keep failing WHEN the last renewed lease gets within 30 s of its end THEN onLost is called once, not before", async () => {
    const keeper = keep();
    await vi.advanceTimersByTimeAsync(EVERY_MS); // renewed at 10 s: the lease now ends at 70 s
    expect(renewed).toHaveLength(1);
    store.failing = true;

    // Failures at 20 s and 30 s leave 50 s and 40 s of lease: tried again.
    await vi.advanceTimersByTimeAsync(2 * EVERY_MS);
    expect(lost).toEqual([]);
    expect(failures).toHaveLength(2);

    // At 40 s, 30 s are left (= the margin): lost.
    await vi.advanceTimersByTimeAsync(EVERY_MS);
    expect(LEASE_LOST_MARGIN_MS).toBe(30_000);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toContain("2026-11-22T10:01:10.000Z");
    expect(lost[0]).toContain("ECONNRESET");

    const renewals = store.renewals;
    await vi.advanceTimersByTimeAsync(5 * EVERY_MS);
    await keeper.stop();
    expect(store.renewals).toBe(renewals);
    expect(lost).toHaveLength(1);
  });

  it("GIVEN a renewal that does not answer WHEN more ticks come THEN none overlaps it, until the lease is near its end: lost", async () => {
    const gate = deferred<undefined>();
    store.gate = gate.promise;
    const keeper = keep();

    await vi.advanceTimersByTimeAsync(2.5 * EVERY_MS);
    expect(store.renewals).toBe(1);
    expect(lost).toEqual([]);

    await vi.advanceTimersByTimeAsync(EVERY_MS); // 30 s: the first lease (to 60 s) has 30 s left
    expect(store.renewals).toBe(1);
    expect(lost).toHaveLength(1);

    // Meanwhile someone took the lock over, so the late renewal finds it changed: still lost only once.
    const body = JSON.stringify({ ...held.holder, deploymentId: "u1", pid: 200 });
    store.objects.set("locks/prod.json", { body, etag: '"theirs"' });
    gate.resolve(undefined);
    await keeper.stop();
    expect(store.maxRunning).toBe(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toContain("has not answered");
  });

  it("GIVEN a renewal in flight WHEN stopped THEN stop waits for it, hands its lock over, and no renewal follows", async () => {
    const gate = deferred<undefined>();
    store.gate = gate.promise;
    const keeper = keep();
    await vi.advanceTimersByTimeAsync(EVERY_MS);
    expect(store.running).toBe(1);

    let stopped = false;
    const stopping = keeper.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);

    gate.resolve(undefined);
    await stopping;
    expect(renewed).toHaveLength(1);
    expect(renewed[0]?.etag).toBe(store.objects.get("locks/prod.json")?.etag);

    await vi.advanceTimersByTimeAsync(5 * EVERY_MS);
    expect(store.renewals).toBe(1);
    expect(lost).toEqual([]);
  });
});
