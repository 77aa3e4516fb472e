/**
 * How often a watch reads each gate's input (DESIGN.md targets: AWS calls per deploy, and a rate
 * of ECS calls that does not grow with the number of services). Every look reads the rollouts
 * (one DescribeServices for up to 10 services) and the health URLs (no AWS call); what follows is
 * read again only when it may have changed:
 * - a deployment's tasks (ListTasks, and DescribeTasks for tasks not seen before: the IPs of its
 *   ALB targets) when its task set changed — ECS changes its counts or its updatedAt whenever a
 *   task starts, stops or fails — and some of them run (only running tasks are targets);
 * - target health and alarms every look while they do not pass, when the tasks changed (targets),
 *   on a look that may decide the watch (every rollout passed, or the last look of a bake), and
 *   otherwise every {@link REFRESH_EVERY_LOOKS}th look. An ALB marks a target unhealthy after at
 *   least two failed checks 5 s or more apart, and CloudWatch evaluates an alarm once per period
 *   (10 s or more): a verdict two looks old misses no change either can make in between.
 * Pure functions; src/steps/watch.ts does the reading.
 */
import type { DeploymentState } from "../aws/ports.ts";
import type { Verdict } from "./gates.ts";

/** A passing target health or alarm verdict is read again at the latest this many looks later. */
export const REFRESH_EVERY_LOOKS = 3;

/** A verdict and the look that read it (looks are numbered from 1 within one watch). */
export interface Reading {
  readonly verdict: Verdict;
  readonly look: number;
}

/**
 * What changes whenever a deployment's tasks do: its running, pending and failed counts and its
 * updatedAt. The same key on two looks: the same tasks, no need to list them again.
 */
export function taskSetKey(deployment: DeploymentState | undefined): string {
  if (!deployment) return "";
  const { runningCount, pendingCount, failedTasks, updatedAt } = deployment;
  return [runningCount, pendingCount, failedTasks, updatedAt?.getTime() ?? ""].join("/");
}

/**
 * Whether look number `look` must read a gate again rather than keep `last`: `force`d (its inputs
 * changed, or this look may decide the watch), not passing, or {@link REFRESH_EVERY_LOOKS} looks
 * old. A gate never read is due {@link REFRESH_EVERY_LOOKS} looks into the watch (as if read on
 * look 0), unless forced before: every 3rd look, counted from the start.
 */
export function mustRead(last: Reading | undefined, look: number, force: boolean): boolean {
  if (force || (last !== undefined && last.verdict.state !== "pass")) return true;
  return look - (last?.look ?? 0) >= REFRESH_EVERY_LOOKS;
}
