/**
 * The deployment journal: one JSON line per event, appended and flushed to a local file as it
 * happens, and mirrored to the shared store (the same bucket as the lock and the ledger), so a
 * process killed at any point — even by SIGKILL, even on a CI runner that is gone — leaves a record
 * of how far the deploy got, from which the next deploy or `gantry unlock` recovers.
 */
import { appendFile, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { StorePort } from "../aws/ports.ts";

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
  private readonly mirror: StorePort | undefined;
  private lines: string[] | undefined;
  private etag: string | undefined;
  /** Appends run one after another, in call order, even when callers do not await them. */
  private queue: Promise<void> = Promise.resolve();

  /** `mirror`: the shared store that keeps a copy (omitted: local file only). */
  constructor(dir: string, env: string, deploymentId: string, mirror?: StorePort) {
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

  /** Append an entry (serialized; the returned promise settles when it is durable). */
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
    this.lines ??= (await this.readMirror())?.lines ?? [];
    this.lines.push(line);
    const body = `${this.lines.join("\n")}\n`;
    const key = journalKey(this.env, this.deploymentId);
    const written =
      this.etag === undefined
        ? await this.mirror.putIfAbsent(key, body)
        : await this.mirror.putIfMatch(key, body, this.etag);
    if (written === "exists" || written === "changed") {
      // Someone else wrote it (a recovery appending its finish): merge and write once more.
      const theirs = await this.readMirror();
      const merged = [...new Set([...(theirs?.lines ?? []), ...this.lines])];
      const again = theirs
        ? await this.mirror.putIfMatch(key, `${merged.join("\n")}\n`, theirs.etag)
        : await this.mirror.putIfAbsent(key, `${merged.join("\n")}\n`);
      this.lines = merged;
      this.etag = typeof again === "string" ? undefined : again.etag;
      return;
    }
    this.etag = written.etag;
  }

  private async readMirror(): Promise<{ lines: string[]; etag: string } | undefined> {
    const obj = await this.mirror?.get(journalKey(this.env, this.deploymentId));
    if (!obj) return undefined;
    this.etag = obj.etag;
    return { lines: obj.body.split("\n").filter(Boolean), etag: obj.etag };
  }

  /** Every entry written so far: the store's copy when there is one, else the local file. */
  async read(): Promise<JournalEntry[]> {
    const mirrored = this.mirror ? await this.mirror.get(journalKey(this.env, this.deploymentId)) : undefined;
    const text = mirrored?.body ?? (await readFile(this.file, "utf8").catch(() => ""));
    return text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as JournalEntry);
  }
}
