import { describe, expect, it } from "vitest";
import { DeployLock, type LockClock, type LockHolder } from "../../../src/orchestrator/lock.ts";
import { MemoryStore } from "../../fakes/memory-store.ts";

function clock(at = Date.parse("2026-11-22T10:00:00Z"), alive: number[] = []): LockClock & { t: number } {
  return {
    t: at,
    now() {
      return this.t;
    },
    host: "runner-1",
    isAlive: (pid) => alive.includes(pid),
  };
}

const who = (id: string, over: Partial<LockHolder> = {}): Omit<LockHolder, "leaseUntil"> => ({
  deploymentId: id,
  env: "prod",
  actor: "ana",
  host: "runner-1",
  pid: 100,
  startedAt: "2026-11-22T10:00:00Z",
  ...over,
});

describe("DeployLock", () => {
  it("GIVEN a free lock WHEN acquired THEN it is ours with a lease", async () => {
    const store = new MemoryStore();
    const res = await new DeployLock(store, "prod", clock(), 60_000).acquire(who("d1"));
    expect(res.acquired).toBe(true);
    expect(res.acquired && res.lock.holder.leaseUntil).toBe("2026-11-22T10:01:00.000Z");
  });

  it("GIVEN a held lock with a live holder WHEN another deploy asks THEN refused with who holds it", async () => {
    const store = new MemoryStore();
    const c = clock(undefined, [100]);
    await new DeployLock(store, "prod", c).acquire(who("d1"));
    const res = await new DeployLock(store, "prod", c).acquire(who("d2", { pid: 200 }));
    expect(res).toMatchObject({
      acquired: false,
      holder: { deploymentId: "d1", actor: "ana", host: "runner-1", pid: 100 },
    });
  });

  it("GIVEN a holder on another host with a valid lease WHEN asked THEN refused (its pid cannot be checked here)", async () => {
    const store = new MemoryStore();
    const c = clock();
    await new DeployLock(store, "prod", c).acquire(who("d1", { host: "runner-9" }));
    expect((await new DeployLock(store, "prod", c).acquire(who("d2"))).acquired).toBe(false);
  });

  it("GIVEN a holder whose process is gone on this host WHEN asked THEN taken over, saying why", async () => {
    const store = new MemoryStore();
    const c = clock(undefined, []);
    await new DeployLock(store, "prod", c).acquire(who("d1", { pid: 4242 }));
    const res = await new DeployLock(store, "prod", c).acquire(who("d2", { pid: 200 }));
    expect(res).toMatchObject({
      acquired: true,
      tookOverFrom: { deploymentId: "d1" },
      why: "process 4242 on runner-1 is gone",
    });
  });

  it("GIVEN a holder elsewhere whose lease expired WHEN asked THEN taken over", async () => {
    const store = new MemoryStore();
    const c = clock();
    await new DeployLock(store, "prod", c, 60_000).acquire(who("d1", { host: "runner-9" }));
    c.t += 61_000;
    const res = await new DeployLock(store, "prod", c).acquire(who("d2"));
    expect(res).toMatchObject({ acquired: true, why: "its lease expired at 2026-11-22T10:01:00.000Z" });
  });

  it("GIVEN a held lock WHEN renewed THEN the lease moves; WHEN taken meanwhile THEN renew says so", async () => {
    const store = new MemoryStore();
    const c = clock(undefined, [100]);
    const lock = new DeployLock(store, "prod", c, 60_000);
    const res = await lock.acquire(who("d1"));
    if (!res.acquired) throw new Error("not acquired");
    c.t += 30_000;
    const renewed = await lock.renew(res.lock);
    expect(renewed?.holder.leaseUntil).toBe("2026-11-22T10:01:30.000Z");
    expect(await lock.renew(res.lock)).toBeUndefined(); // the old version is stale now
  });

  it("GIVEN five deploys at once WHEN they race THEN exactly one holds the lock", async () => {
    const store = new MemoryStore();
    const c = clock(undefined, [1, 2, 3, 4, 5]);
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((pid) => new DeployLock(store, "prod", c).acquire(who(`d${String(pid)}`, { pid }))),
    );
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
  });

  it("GIVEN a released lock WHEN asked again THEN free; releasing twice is false", async () => {
    const store = new MemoryStore();
    const c = clock(undefined, [100]);
    const lock = new DeployLock(store, "prod", c);
    const res = await lock.acquire(who("d1"));
    if (!res.acquired) throw new Error("not acquired");
    expect(await lock.release(res.lock)).toBe(true);
    expect(await lock.release(res.lock)).toBe(false);
    expect((await lock.acquire(who("d2"))).acquired).toBe(true);
  });

  it("GIVEN a live holder WHEN taken without force THEN refused; with force THEN taken over, naming the holder", async () => {
    const store = new MemoryStore();
    const c = clock(undefined, [100]);
    const lock = new DeployLock(store, "prod", c);
    await lock.acquire(who("d1"));
    expect(await lock.acquire(who("u1"))).toMatchObject({ acquired: false, holder: { deploymentId: "d1" } });
    const forced = await lock.acquire(who("u1"), { force: true });
    expect(forced).toMatchObject({ acquired: true, tookOverFrom: { deploymentId: "d1" }, why: "forced" });
    if (!forced.acquired) throw new Error("not acquired");
    expect(await lock.release(forced.lock)).toBe(true);
    expect(await lock.holder()).toBeUndefined();
  });
});
