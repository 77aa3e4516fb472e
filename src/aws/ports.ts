/**
 * Narrow ports to AWS: each lists only the calls gantry makes. Pure types (no SDK import), so the
 * orchestrator and steps depend on them without depending on AWS; adapters live beside them.
 */

/** An object as read, with the version tag a conditional write must match. */
export interface StoredObject {
  readonly body: string;
  readonly etag: string;
}

/** The shared store of locks and ledgers. Keys are relative to the adapter's prefix. */
export interface StorePort {
  /** The object, or undefined when there is none. */
  get(key: string): Promise<StoredObject | undefined>;
  /** Create only if absent; "exists" when someone else has it. */
  putIfAbsent(key: string, body: string): Promise<{ etag: string } | "exists">;
  /** Replace only if unchanged since `etag` was read; "changed" otherwise. */
  putIfMatch(key: string, body: string, etag: string): Promise<{ etag: string } | "changed">;
  /** Delete only if unchanged since `etag`; false when it changed or was gone. */
  deleteIfMatch(key: string, etag: string): Promise<boolean>;
  /** Keys under a prefix, in ascending order, at most `limit`. */
  list(prefix: string, limit: number): Promise<string[]>;
}
