/**
 * The deployment journal: one JSON line per event, appended and flushed to a local file as it
 * happens, so a crash (even SIGKILL) leaves a record of how far the deploy got.
 */
import { appendFile, mkdir, readFile } from "node:fs/promises";
import path from "node:path";

/** One journal line. */
export interface JournalEntry {
  readonly at: string;
  readonly event: "begin" | "step-start" | "step-end" | "finish";
  readonly step?: string;
  readonly status?: string;
  readonly detail?: string;
  readonly data?: unknown;
}

/** Append-only journal of one deployment. */
export class Journal {
  readonly file: string;

  constructor(dir: string, env: string, deploymentId: string) {
    this.file = path.join(dir, env, `${deploymentId}.jsonl`);
  }

  async append(entry: Omit<JournalEntry, "at">): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`, {
      flush: true,
    });
  }

  /** Every entry written so far. */
  async read(): Promise<JournalEntry[]> {
    const text = await readFile(this.file, "utf8").catch(() => "");
    return text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as JournalEntry);
  }
}
