import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GantryError } from "../../../src/errors.ts";
import { Journal, journalKey } from "../../../src/orchestrator/journal.ts";
import { MemoryStore } from "../../fakes/memory-store.ts";

const KEY = journalKey("prod", "d1");

/**
 * A store where another process (a recovery appending its `finish`) writes the journal just before
 * each of our next `races` conditional writes, so ours meets a real conflict.
 */
class RacingStore extends MemoryStore {
  races = 0;
  private theirs = 0;

  override async putIfAbsent(key: string, body: string): Promise<{ etag: string } | "exists"> {
    await this.race(key);
    return super.putIfAbsent(key, body);
  }

  override async putIfMatch(key: string, body: string, etag: string): Promise<{ etag: string } | "changed"> {
    await this.race(key);
    return super.putIfMatch(key, body, etag);
  }

  private async race(key: string): Promise<void> {
    if (key !== KEY || this.races <= 0) return;
    this.races -= 1;
    this.theirs += 1;
    const line = `${JSON.stringify({ at: "2026-11-22T10:05:00.000Z", event: "finish", detail: `recovery ${String(this.theirs)}` })}\n`;
    const current = this.objects.get(key);
    const res = current
      ? await super.putIfMatch(key, current.body + line, current.etag)
      : await super.putIfAbsent(key, line);
    if (typeof res === "string") throw new Error("the racing writer itself lost a race");
  }
}

/** What the store's copy holds, one `event[:step|detail]` per line. */
function storedEvents(store: MemoryStore): string[] {
  const body = store.objects.get(KEY)?.body ?? "";
  return body
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const e = JSON.parse(l) as { event: string; step?: string; detail?: string };
      return [e.event, e.step ?? e.detail].filter(Boolean).join(":");
    });
}

describe("Journal mirrored to the shared store", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "gantry-journal-"));
  });

  afterEach(async () => {
    vi.useRealTimers();
    await rm(dir, { recursive: true, force: true });
  });

  it("GIVEN a recovery writes the journal just before each of our next two writes WHEN we append THEN it resolves only with our entry in the store, after theirs, and read() returns the store's copy", async () => {
    const store = new RacingStore();
    const journal = new Journal(dir, "prod", "d1", store);
    await journal.append({ event: "begin" });

    store.races = 2;
    await journal.append({ event: "step-start", step: "release" });

    expect(store.races).toBe(0);
    expect(storedEvents(store)).toEqual([
      "begin",
      "finish:recovery 1",
      "finish:recovery 2",
      "step-start:release",
    ]);
    // read() answers from the store: the recovery's lines were never in our local file.
    expect((await journal.read()).map((e) => e.detail ?? e.step ?? e.event)).toEqual([
      "begin",
      "recovery 1",
      "recovery 2",
      "release",
    ]);
    expect(await readFile(journal.file, "utf8")).not.toContain("recovery");
  });

  it("GIVEN two identical entries (same instant) and a concurrent write WHEN appended THEN every line is kept, theirs first then ours in order", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.parse("2026-11-22T10:00:00Z") });
    const store = new RacingStore();
    const journal = new Journal(dir, "prod", "d1", store);
    await journal.append({ event: "begin" });
    await journal.append({ event: "checkpoint", step: "release" });

    store.races = 1;
    await journal.append({ event: "checkpoint", step: "release" });
    await journal.append({ event: "step-end", step: "release" });

    expect(storedEvents(store)).toEqual([
      "begin",
      "checkpoint:release",
      "finish:recovery 1",
      "checkpoint:release",
      "step-end:release",
    ]);
  });

  it("GIVEN the store's copy changes before every write WHEN we append THEN it rejects with JOURNAL_WRITE_FAILED naming the key, and a later append still works and stores both", async () => {
    const store = new RacingStore();
    const journal = new Journal(dir, "prod", "d1", store);
    await journal.append({ event: "begin" });

    store.races = Number.POSITIVE_INFINITY;
    const failed = journal.append({ event: "checkpoint", step: "release" });
    await expect(failed).rejects.toBeInstanceOf(GantryError);
    await expect(failed).rejects.toMatchObject({
      code: "JOURNAL_WRITE_FAILED",
      hint: expect.stringContaining(KEY) as unknown,
    });
    expect(storedEvents(store)).not.toContain("checkpoint:release");

    store.races = 0;
    await journal.append({ event: "step-start", step: "release" });
    const stored = storedEvents(store);
    expect(stored.slice(-2)).toEqual(["checkpoint:release", "step-start:release"]);
    expect(stored[0]).toBe("begin");
  });
});
