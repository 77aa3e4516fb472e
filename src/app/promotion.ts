/**
 * The environment a release is promoted from, read as a deploy needs it (src/steps/promotion.ts):
 * its ledger, and what each service runs now — ECS's one COMPLETED deployment, the digest of its
 * task definition, and its health URL judged with the version it runs. Wired from that
 * environment's own config, account and state.
 */
import { evaluateHealth } from "../checks/gates.ts";
import type { EnvironmentName } from "../config/environments.ts";
import { Ledger } from "../orchestrator/ledger.ts";
import type { PromotionPolicy, PromotionSource, SourceServing } from "../steps/context.ts";
import type { DeploymentRecord } from "../steps/record.ts";
import { runningVersion } from "../steps/running.ts";
import type { AppContext } from "./context.ts";

/** How many records of the source's history a promotion reads (newest first). */
const HISTORY_LIMIT = 200;
/** How long a health URL of the source may take. */
const HEALTH_TIMEOUT_MS = 3000;

/** Wire `from` (its account, stack outputs, ledger) as a {@link PromotionSource}. */
export async function promotionSource(app: AppContext, from: EnvironmentName): Promise<PromotionSource> {
  const { wireEnvironment } = await import("./environment.ts");
  const wired = await wireEnvironment(app, from);
  const ledger = new Ledger<DeploymentRecord>(wired.store);
  const versionField = wired.config.gantry.health.versionField;
  let history: Promise<readonly DeploymentRecord[]> | undefined;
  return {
    env: from,
    history: () => (history ??= ledger.list(from, HISTORY_LIMIT)),
    async serving(services) {
      const outputs = await wired.stack.outputs().catch(() => undefined);
      const found = new Map<string, SourceServing>();
      if (!outputs) return found;
      await Promise.all(
        services.map(async (name) => {
          const svc = outputs.services.find((s) => s.name === name);
          if (!svc) return;
          const running = await runningVersion(wired.ports.ecs, outputs.clusterName, svc);
          if (!running) return;
          const deployments = running.service.deployments;
          const health = await wired.ports.http.get(svc.healthUrl, HEALTH_TIMEOUT_MS);
          found.set(name, {
            tag: running.tag,
            digest: running.digest,
            settled: deployments.length === 1 && deployments[0]?.rolloutState === "COMPLETED",
            health: evaluateHealth(health, running.tag, versionField),
          });
        }),
      );
      return found;
    },
  };
}

/** The policy a release to `to` is checked with: its own `gantry:promotion`, or `from`'s defaults for `gantry promote`. */
export function promotionPolicy(
  configured: PromotionPolicy | undefined,
  from: EnvironmentName,
): PromotionPolicy {
  return configured ?? { from, requireServing: true, minSoakMinutes: 0 };
}
