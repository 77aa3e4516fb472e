/**
 * Promotion (`gantry:promotion`): an environment takes only what the environment before it
 * verified. For every released service, the digest must have a succeeded deployment in `from` (its
 * ledger) and, with `requireServing`, `from` must serve that digest now — ECS on exactly it, one
 * COMPLETED deployment, the health URL 200 with the version — since at least `minSoakMinutes`.
 * The rules are pure ({@link promotionProblems}); what `from` runs is read through a
 * {@link PromotionSource} the application layer wires from that environment's own config.
 */
import { shortDigest } from "../reporting/human.ts";
import { type DeployContext, type PromotionPolicy, type SourceServing, StepError } from "./context.ts";
import type { DeploymentRecord } from "./record.ts";

/** A service a deploy releases, with the digest preflight resolved for it. */
export interface PromotedService {
  readonly name: string;
  readonly tag: string;
  readonly digest: string;
}

/** The digest a record left `service` on (records before per-service records: the one image). */
function digestLeft(record: DeploymentRecord, service: string): string | undefined {
  if (!record.services) return record.current?.digest ?? record.imageDigest;
  return record.services.find((s) => s.name === service)?.current?.digest;
}

/** The digest a succeeded record released to `service` (undefined: not part of that release). */
function digestReleased(record: DeploymentRecord, service: string): string | undefined {
  if (!record.services) return record.imageDigest;
  return record.services.find((s) => s.name === service)?.digest ?? undefined;
}

/**
 * Since when `service` has run `digest`, by the history (newest first): the end of the oldest
 * record of the newest unbroken run of records that left it on that digest. Undefined: the
 * newest record left it on something else, or nothing is recorded.
 */
export function servingSince(
  history: readonly DeploymentRecord[],
  service: string,
  digest: string,
): number | undefined {
  let since: number | undefined;
  for (const record of history) {
    const left = digestLeft(record, service);
    if (left === undefined) continue;
    if (left !== digest) break;
    since = Date.parse(record.startedAt) + record.durationMs;
  }
  return since;
}

/** Why the promotion is refused, one phrase per service and rule; empty when it may go ahead. */
export function promotionProblems(
  policy: PromotionPolicy,
  released: readonly PromotedService[],
  history: readonly DeploymentRecord[],
  serving: ReadonlyMap<string, SourceServing>,
  now: number,
): string[] {
  const { from } = policy;
  const problems: string[] = [];
  for (const s of released) {
    const short = shortDigest(s.digest);
    const verified = history.some((r) => r.status === "succeeded" && digestReleased(r, s.name) === s.digest);
    if (!verified) {
      problems.push(`${s.name}: ${s.tag} (${short}) never succeeded in ${from}`);
      continue;
    }
    if (!policy.requireServing) continue;
    const there = serving.get(s.name);
    if (!there) {
      problems.push(`${s.name}: ${from} has no such service`);
      continue;
    }
    if (there.digest !== s.digest) {
      problems.push(
        `${s.name}: ${from} serves ${there.tag} (${there.digest ? shortDigest(there.digest) : "no digest"}), not ${short}`,
      );
      continue;
    }
    if (!there.settled) {
      problems.push(`${s.name}: ${from} is still rolling out ${short}`);
      continue;
    }
    if (there.health.state !== "pass") {
      problems.push(`${s.name}: ${from} is not healthy on ${short}: ${there.health.detail}`);
      continue;
    }
    if (policy.minSoakMinutes === 0) continue;
    const since = servingSince(history, s.name, s.digest);
    // A record "from the future" (another runner's clock ahead) has soaked for nothing yet.
    const soaked = since === undefined ? 0 : Math.max(0, now - since) / 60_000;
    if (soaked < policy.minSoakMinutes) {
      problems.push(
        `${s.name}: ${short} has served in ${from} for ${String(Math.floor(soaked))} min, less than ${String(policy.minSoakMinutes)} (gantry:promotion.minSoakMinutes)`,
      );
    }
  }
  return problems;
}

/**
 * Preflight's promotion check: refused (exit 1, nothing changed) with every problem in one line.
 * Skipped, and said so, for an emergency deploy; absent without `gantry:promotion` and for rollbacks.
 */
export async function checkPromotion(
  ctx: DeployContext,
  released: readonly PromotedService[],
): Promise<void> {
  const { request, reporter, promotion } = ctx;
  const policy = promotion?.policy ?? ctx.config.gantry.promotion;
  if (!policy) return;
  if (request.emergency) {
    reporter.emit({
      type: "warn",
      message: `emergency deploy: the promotion check (from ${policy.from}) and the smoke gate are skipped — ${request.emergency.reason}`,
    });
    return;
  }
  // `gantry deploy` and `gantry promote` always wire the source; a rollback does not — it puts
  // back a version this environment already ran, which is not a promotion.
  if (!promotion) return;
  const { source } = promotion;
  const [history, serving] = await Promise.all([
    source.history(),
    policy.requireServing
      ? source.serving(released.map((s) => s.name))
      : Promise.resolve(new Map<string, SourceServing>()),
  ]);
  const problems = promotionProblems(policy, released, history, serving, Date.now());
  if (problems.length) {
    throw new StepError(`promotion from ${policy.from} refused: ${problems.join("; ")}`, {
      code: "PROMOTION_REFUSED",
      source: "user",
      hint: `release what ${policy.from} serves: gantry promote --from ${policy.from} --to ${request.env} (or deploy the tag to ${policy.from} first)`,
    });
  }
  reporter.emit({
    type: "info",
    message: `promotion from ${policy.from}: ${released.map((s) => `${s.name} ${shortDigest(s.digest)}`).join(", ")} verified there`,
  });
}
