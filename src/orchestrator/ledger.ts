/**
 * The ledger: one immutable JSON record per finished run in the shared store, listed newest first
 * without reading every object (keys sort by inverted start time). Generic over the record: what a
 * record holds is defined by whoever runs (src/steps/record.ts for deploys).
 */
import type { ObjectStore } from "./store.ts";

/** What the ledger needs of a record: its id, its environment and when it started (ISO time). */
export interface LedgerEntry {
  readonly id: string;
  readonly env: string;
  readonly startedAt: string;
}

const MAX_TIME = 9_999_999_999_999;

/** Key of a record: inverted start time first, so ascending key order is newest first. */
export function ledgerKey(env: string, startedAt: string, id: string): string {
  const inverted = String(MAX_TIME - Date.parse(startedAt)).padStart(13, "0");
  return `ledger/${env}/${inverted}-${id}.json`;
}

/** Append-only history of records of type `R`, one store. */
export class Ledger<R extends LedgerEntry> {
  private readonly store: ObjectStore;

  constructor(store: ObjectStore) {
    this.store = store;
  }

  /** Append a record; appending the same record twice is a no-op (idempotent finish). */
  async append(record: R): Promise<void> {
    await this.store.putIfAbsent(ledgerKey(record.env, record.startedAt, record.id), JSON.stringify(record));
  }

  /** The newest `limit` records of `env`, newest first, as they were appended. */
  async list(env: string, limit: number): Promise<R[]> {
    const keys = await this.store.list(`ledger/${env}/`, limit);
    const records = await Promise.all(keys.map((k) => this.store.get(k)));
    return records.flatMap((r) => (r ? [JSON.parse(r.body) as R] : []));
  }
}
