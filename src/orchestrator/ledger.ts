/**
 * The deploy ledger: one immutable record per finished deployment in the shared store, listed
 * newest first without reading every object (keys sort by inverted time).
 */
import type { StorePort } from "../aws/ports.ts";

/** A command gantry ran for a deploy (a hook, the smoke command), as the record keeps it. */
export interface CommandRecord {
  /** The hook's name (`preDeploy`, …) or `smoke`. */
  readonly name: string;
  /** The command as configured (secrets masked). */
  readonly command: string;
  /** `warned`: it failed, and its setting says to only warn (postDeploy `onError: warn`). */
  readonly status: "succeeded" | "failed" | "warned";
  /** null: it did not exit by itself (timed out, interrupted) or could not start. */
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  /** Its last lines of output (stdout and stderr interleaved), secrets masked. */
  readonly tail: readonly string[];
}

/** One declarative HTTP smoke check, as the record keeps it. */
export interface SmokeCheckRecord {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly status: "passed" | "failed";
  readonly attempts: number;
  /** Of the last attempt; null when nothing answered. */
  readonly httpStatus: number | null;
  readonly latencyMs: number | null;
  readonly detail: string;
}

/** The smoke gate of a deployment: skipped (`--skip-smoke`) or what ran. */
export interface SmokeRecord {
  readonly skipped: boolean;
  readonly checks: readonly SmokeCheckRecord[];
  readonly command?: CommandRecord;
}

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
  /** The smoke gate, when one is configured or `--skip-smoke` was given. */
  readonly smoke?: SmokeRecord;
  /** The hooks that ran, in order. */
  readonly hooks?: readonly CommandRecord[];
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
