/**
 * The deploy ledger: one immutable record per finished deployment in the shared store, listed
 * newest first without reading every object (keys sort by inverted time).
 */
import type { StorePort } from "../aws/ports.ts";

/** The final record of a deployment (DESIGN.md "Contracts"). */
export interface DeploymentRecord {
  readonly id: string;
  readonly env: string;
  readonly tag: string;
  readonly imageDigest: string;
  readonly status: "succeeded" | "rolled_back" | "failed" | "aborted";
  readonly startedAt: string;
  readonly durationMs: number;
  readonly actor: string;
  readonly previous: { readonly tag: string; readonly taskDefinitionArn: string } | null;
  readonly current: { readonly tag: string; readonly taskDefinitionArn: string } | null;
  readonly snapshotId: string | null;
  readonly steps: readonly {
    readonly name: string;
    readonly status: string;
    readonly startedAt: string;
    readonly durationMs: number;
    readonly detail?: string;
  }[];
}

const MAX_TIME = 9_999_999_999_999;

/** Key of a record: inverted start time first, so ascending key order is newest first. */
export function ledgerKey(env: string, startedAt: string, id: string): string {
  const inverted = String(MAX_TIME - Date.parse(startedAt)).padStart(13, "0");
  return `ledger/${env}/${inverted}-${id}.json`;
}

/** Append-only history of one store. */
export class Ledger {
  private readonly store: StorePort;

  constructor(store: StorePort) {
    this.store = store;
  }

  /** Append a record; appending the same record twice is a no-op (idempotent finish). */
  async append(record: DeploymentRecord): Promise<void> {
    await this.store.putIfAbsent(ledgerKey(record.env, record.startedAt, record.id), JSON.stringify(record));
  }

  /** The newest `limit` records of `env`, newest first. */
  async list(env: string, limit: number): Promise<DeploymentRecord[]> {
    const keys = await this.store.list(`ledger/${env}/`, limit);
    const records = await Promise.all(keys.map((k) => this.store.get(k)));
    return records.flatMap((r) => (r ? [JSON.parse(r.body) as DeploymentRecord] : []));
  }
}
