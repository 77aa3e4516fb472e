import { describe, expect, it } from "vitest";
import { Ledger, ledgerKey } from "../../../src/orchestrator/ledger.ts";
import { MemoryStore } from "../../fakes/memory-store.ts";

/** Any record type: the ledger needs only id, env and startedAt. */
interface RunRecord {
  readonly id: string;
  readonly env: string;
  readonly startedAt: string;
  readonly tag: string;
}

describe("Ledger", () => {
  const record = (id: string, startedAt: string): RunRecord => ({ id, env: "prod", startedAt, tag: "v1" });

  it("GIVEN three records WHEN listed THEN newest first, limited", async () => {
    const ledger = new Ledger<RunRecord>(new MemoryStore());
    await ledger.append(record("a", "2026-11-20T10:00:00Z"));
    await ledger.append(record("c", "2026-11-22T10:00:00Z"));
    await ledger.append(record("b", "2026-11-21T10:00:00Z"));
    expect((await ledger.list("prod", 2)).map((r) => r.id)).toEqual(["c", "b"]);
    expect(await ledger.list("dev", 10)).toEqual([]);
  });

  it("GIVEN the same record twice WHEN appended THEN stored once", async () => {
    const store = new MemoryStore();
    const ledger = new Ledger<RunRecord>(store);
    await ledger.append(record("a", "2026-11-20T10:00:00Z"));
    await ledger.append(record("a", "2026-11-20T10:00:00Z"));
    expect(store.objects.size).toBe(1);
    expect(ledgerKey("prod", "2026-11-20T10:00:00Z", "a")).toMatch(/^ledger\/prod\/\d{13}-a\.json$/);
  });

  it("GIVEN a record WHEN appended THEN stored whole as JSON under its ledger key", async () => {
    const store = new MemoryStore();
    await new Ledger<RunRecord>(store).append(record("a", "2026-11-20T10:00:00Z"));
    expect([...store.objects.keys()]).toEqual(["ledger/prod/8204831199999-a.json"]);
    expect(JSON.parse(store.objects.get("ledger/prod/8204831199999-a.json")?.body ?? "")).toEqual(
      record("a", "2026-11-20T10:00:00Z"),
    );
  });
});
