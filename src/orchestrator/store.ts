/**
 * The orchestrator's own object-store port: what the deploy lock, the journal and the ledger need
 * of a shared store — reads, conditional writes and listing. Outcomes the orchestrator acts on (no
 * such object, a condition that did not hold) are typed results, never errors to recognise; any
 * other failure is thrown by the adapter as it sees fit (the S3 adapter in src/aws/store.ts throws
 * classified gantry errors).
 */

/** An object as read, with the version tag a conditional write must match. */
export interface StoredObject {
  readonly body: string;
  readonly etag: string;
}

/** A write that happened: the object's new version tag. */
export interface Written {
  readonly etag: string;
}

/** The shared store of locks, journals and ledgers. Keys are relative to the adapter's prefix. */
export interface ObjectStore {
  /** The object, or undefined when there is none. */
  get(key: string): Promise<StoredObject | undefined>;
  /** Create only if absent; "exists" when someone else has it. */
  putIfAbsent(key: string, body: string): Promise<Written | "exists">;
  /** Replace only if unchanged since `etag` was read; "changed" when it changed or is gone. */
  putIfMatch(key: string, body: string, etag: string): Promise<Written | "changed">;
  /** Delete only if unchanged since `etag`; false when it changed or was gone. */
  deleteIfMatch(key: string, etag: string): Promise<boolean>;
  /** Keys under a prefix, in ascending order, at most `limit`. */
  list(prefix: string, limit: number): Promise<string[]>;
}
