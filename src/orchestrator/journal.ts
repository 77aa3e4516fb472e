/**
 * The deployment journal: one JSON line per event, appended and flushed to a local file as it
 * happens, and mirrored to the shared store (the same bucket as the lock and the ledger), so a
 * process killed at any point — even by SIGKILL, even on a CI runner that is gone — leaves a record
 * of how far the deploy got, from which the next deploy or `gantry unlock` recovers.
 */
import { appendFile, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { GantryError } from "../errors.ts";
import type { ObjectStore } from "./store.ts";

/** How many times one append merges with a concurrent writer's copy and retries before giving up. */
const MAX_MERGES = 5;

/** One journal line. */
export interface JournalEntry {
  readonly at: string;
  /**
   * `checkpoint`: facts a step records before it changes something (what recovery needs, e.g. the
   * task definitions a release replaces); `finish`: the deployment's end, or its recovery's.
   */
  readonly event: "begin" | "step-start" | "step-end" | "checkpoint" | "finish";
  readonly step?: string;
  readonly status?: string;
  readonly detail?: string;
  readonly data?: unknown;
}

/** Key of a journal's copy in the shared store. */
export function journalKey(env: string, deploymentId: string): string {
  return `journal/${env}/${deploymentId}.jsonl`;
}

/** Append-only journal of one deployment. */
export class Journal {
  readonly file: string;
  readonly env: string;
  readonly deploymentId: string;
  private readonly dir: string;
  private readonly mirror: ObjectStore | undefined;
  /** Every line the store's copy must hold: what we last read or wrote there, then our own. */
  private lines: string[] = [];
  /** Version of the store's copy that {@link lines} extends; undefined: believed absent. */
  private etag: string | undefined;
  /** Appends run one after another, in call order, even when callers do not await them. */
  private queue: Promise<void> = Promise.resolve();

  /** `mirror`: the shared store that keeps a copy (omitted: local file only). */
  constructor(dir: string, env: string, deploymentId: string, mirror?: ObjectStore) {
    this.dir = dir;
    this.env = env;
    this.deploymentId = deploymentId;
    this.mirror = mirror;
    this.file = path.join(dir, env, `${deploymentId}.jsonl`);
  }

  /** The journal of another deployment of the same environment, in the same places. */
  sibling(deploymentId: string): Journal {
    return new Journal(this.dir, this.env, deploymentId, this.mirror);
  }

  /**
   * Append an entry. Appends are serialized in call order; the returned promise resolves only once
   * the entry is in the local file and, with a mirror, in the store's copy — crash recovery relies
   * on that. It rejects (JOURNAL_WRITE_FAILED) when the store's copy could not be written; a failed
   * append does not block later ones, and its line (already in the local file) goes to the store
   * with the next append that succeeds.
   */
  append(entry: Omit<JournalEntry, "at">): Promise<void> {
    const line = JSON.stringify({ at: new Date().toISOString(), ...entry });
    const done = this.queue.then(() => this.write(line));
    this.queue = done.catch(() => undefined);
    return done;
  }

  private async write(line: string): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, `${line}\n`, { flush: true });
    if (!this.mirror) return;
    this.lines.push(line);
    const key = journalKey(this.env, this.deploymentId);
    for (let merges = 0; ; merges += 1) {
      const body = `${this.lines.join("\n")}\n`;
      const written =
        this.etag === undefined
          ? await this.mirror.putIfAbsent(key, body)
          : await this.mirror.putIfMatch(key, body, this.etag);
      if (typeof written !== "string") {
        this.etag = written.etag;
        return;
      }
      if (merges === MAX_MERGES) {
        throw new GantryError(
          `could not write the journal of deployment ${this.deploymentId} to the shared store: it kept changing under us`,
          {
            code: "JOURNAL_WRITE_FAILED",
            hint: `something else keeps writing ${key} in the state bucket (a recovery of this deployment?): gantry status --env ${this.env}; the local copy is ${this.file}`,
          },
        );
      }
      // Someone else wrote it (a recovery appending its finish): keep their lines, add ours, retry.
      const theirs = await this.mirror.get(key);
      this.etag = theirs?.etag;
      if (theirs) this.lines = mergeLines(splitLines(theirs.body), this.lines);
    }
  }

  /** Every entry written so far: the store's copy when there is one, else the local file. */
  async read(): Promise<JournalEntry[]> {
    const mirrored = this.mirror ? await this.mirror.get(journalKey(this.env, this.deploymentId)) : undefined;
    const text = mirrored?.body ?? (await readFile(this.file, "utf8").catch(() => ""));
    return splitLines(text).map((l) => JSON.parse(l) as JournalEntry);
  }
}

function splitLines(text: string): string[] {
  return text.split("\n").filter(Boolean);
}

/**
 * `theirs` in order, then each line of `ours` that `theirs` does not already hold. Counted, not
 * deduplicated: a line that occurs twice in `ours` but once in `theirs` is added once more.
 */
function mergeLines(theirs: readonly string[], ours: readonly string[]): string[] {
  const unmatched = new Map<string, number>();
  for (const l of theirs) unmatched.set(l, (unmatched.get(l) ?? 0) + 1);
  const merged = [...theirs];
  for (const l of ours) {
    const n = unmatched.get(l) ?? 0;
    if (n > 0) unmatched.set(l, n - 1);
    else merged.push(l);
  }
  return merged;
}
