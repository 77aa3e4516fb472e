/** In-memory fake of the orchestrator's ObjectStore with the same conditional-write semantics as S3. */
import type { ObjectStore, StoredObject, Written } from "../../src/orchestrator/store.ts";

export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, StoredObject>();
  private version = 0;

  private next(): string {
    this.version += 1;
    return `"v${String(this.version)}"`;
  }

  get(key: string): Promise<StoredObject | undefined> {
    return Promise.resolve(this.objects.get(key));
  }

  putIfAbsent(key: string, body: string): Promise<Written | "exists"> {
    if (this.objects.has(key)) return Promise.resolve("exists");
    const etag = this.next();
    this.objects.set(key, { body, etag });
    return Promise.resolve({ etag });
  }

  putIfMatch(key: string, body: string, etag: string): Promise<Written | "changed"> {
    if (this.objects.get(key)?.etag !== etag) return Promise.resolve("changed");
    const next = this.next();
    this.objects.set(key, { body, etag: next });
    return Promise.resolve({ etag: next });
  }

  deleteIfMatch(key: string, etag: string): Promise<boolean> {
    if (this.objects.get(key)?.etag !== etag) return Promise.resolve(false);
    this.objects.delete(key);
    return Promise.resolve(true);
  }

  list(prefix: string, limit: number): Promise<string[]> {
    return Promise.resolve(
      [...this.objects.keys()]
        .filter((k) => k.startsWith(prefix))
        .sort()
        .slice(0, limit),
    );
  }
}
