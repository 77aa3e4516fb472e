/**
 * The AWS client factory of a run, kept apart from the SDK (src/aws/clients.ts) so that building
 * it in src/main.ts loads nothing heavy.
 */
import type { AwsClients, AwsTarget } from "./clients.ts";

/**
 * The one SDK configuration of a gantry run (DESIGN.md "Layout": built once in src/main.ts):
 * hands out one set of clients per target (region + endpoint), built on first use and shared by
 * every command of the run — the demo's five deploys and reads use one set — and counts the calls
 * of all of them.
 */
export class AwsClientFactory {
  private readonly sets = new Map<string, AwsClients>();

  /** The clients for `target`, built once (the SDK is loaded on first use: `--help` never pays for it). */
  async clients(target: AwsTarget): Promise<AwsClients> {
    const key = `${target.region} ${target.endpoint ?? ""}`;
    let set = this.sets.get(key);
    if (!set) {
      const { createAwsClients } = await import("./clients.ts");
      set = this.sets.get(key) ?? createAwsClients(target);
      this.sets.set(key, set);
    }
    return set;
  }

  /** AWS API calls made so far by every client of this factory, by `Client.Command`. */
  calls(): Readonly<Record<string, number>> {
    const total: Record<string, number> = {};
    for (const set of this.sets.values()) {
      for (const [key, n] of Object.entries(set.calls())) total[key] = (total[key] ?? 0) + n;
    }
    return total;
  }

  /** Close every client's sockets (at the end of the run). */
  destroy(): void {
    for (const set of this.sets.values()) set.destroy();
    this.sets.clear();
  }
}

/** The calls made between two {@link AwsClientFactory.calls} readings. */
export function callsSince(
  before: Readonly<Record<string, number>>,
  now: Readonly<Record<string, number>>,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [key, n] of Object.entries(now)) {
    const d = n - (before[key] ?? 0);
    if (d > 0) delta[key] = d;
  }
  return delta;
}
