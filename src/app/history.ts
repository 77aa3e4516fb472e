/** `gantry history`: an environment's ledger, newest first. */
import { EXIT, UsageError } from "../errors.ts";
import { Ledger } from "../orchestrator/ledger.ts";
import type { DeploymentRecord } from "../steps/record.ts";
import { type AppContext, type Outcome, environmentNamed } from "./context.ts";

/** Options of {@link history}. */
export interface HistoryOptions {
  readonly env: string;
  /** How many records, 1-1000. */
  readonly limit: number;
}

/** What {@link history} found. */
export interface HistoryResult extends Outcome {
  readonly records: readonly DeploymentRecord[];
}

/** List the deployments of `options.env`, newest first; reported as a `result` event. */
export async function history(app: AppContext, options: HistoryOptions): Promise<HistoryResult> {
  const env = environmentNamed(app, options.env);
  if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 1000) {
    throw new UsageError("--limit must be an integer from 1 to 1000", "e.g. --limit 10");
  }
  const { wireEnvironment } = await import("./environment.ts");
  const wired = await wireEnvironment(app, env);
  const records = await new Ledger<DeploymentRecord>(wired.store).list(env, options.limit);
  app.reporter.emit({
    type: "result",
    title: `history of ${env} (${String(records.length)})`,
    data: records,
    view: { kind: "history", records },
  });
  return { exitCode: EXIT.ok, records };
}
