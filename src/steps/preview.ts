/**
 * The app-level preview of a deploy, as data: the plan's steps, the stack diff, the tag → digest,
 * each service's task definition "from → to", whether migrations run and a snapshot is taken.
 * One function for `gantry deploy --dry-run` (printed as JSON) and `gantry preview` (markdown).
 * It only reads: ECR, ECS and a Pulumi preview (which may save an update plan).
 */
import type { ResolvedImage } from "../aws/ports.ts";
import type { PreviewResult } from "../pulumi/port.ts";
import type { DeployContext, DeployRequest } from "./context.ts";
import { migrationWanted } from "./migrate.ts";
import type { PlannedStep } from "./plan.ts";
import { runningVersion } from "./running.ts";
import { snapshotWanted } from "./snapshot.ts";

/** What a service runs now (null: not deployed yet). */
export interface ServiceVersion {
  readonly tag: string;
  readonly taskDefinitionArn: string;
  readonly image: string;
}

/** One service's task definition before and after the deploy. */
export interface TaskDefinitionChange {
  readonly service: string;
  readonly from: ServiceVersion | null;
  /** `image` is the digest reference the release would register; null when the tag is not in ECR. */
  readonly to: { readonly tag: string; readonly image: string | null } | null;
}

/** The preview of one deploy. */
export interface DeployPreview {
  readonly env: string;
  /** The tag previewed: the one asked for, else the one serving now; null when neither exists. */
  readonly tag: string | null;
  readonly tagSource: "given" | "serving" | null;
  /** `--plan FILE` of the deploy (dry run), or where `--save-plan` wrote the update plan (preview). */
  readonly planFile: string | null;
  readonly plan: readonly { readonly step: string; readonly included: boolean; readonly why: string }[];
  /** The stack preview; `changes` holds only resources that change (no `same`). */
  readonly stack: PreviewResult;
  /** The tag's image; null when the tag is not in ECR (a deploy would stop in preflight). */
  readonly image: ResolvedImage | null;
  readonly taskDefinitions: readonly TaskDefinitionChange[];
  readonly migrations: { readonly runs: boolean; readonly command: readonly string[] | null };
  readonly snapshot: { readonly taken: boolean; readonly retention: number };
  /** Things a reviewer must see (tag not in ECR, nothing serving, …). */
  readonly warnings: readonly string[];
}

/** What {@link previewDeploy} reads; `request.tag` undefined previews the tag serving now. */
export interface PreviewContext extends Pick<DeployContext, "config" | "ports" | "stack"> {
  readonly request: Omit<DeployRequest, "tag"> & { readonly tag: string | undefined };
}

/** Options of {@link previewDeploy}. */
export interface PreviewDeployOptions {
  /** Save the Pulumi update plan here (for `gantry deploy --plan`). */
  readonly savePlan?: string;
  /** Engine output lines. */
  readonly onOutput?: (text: string) => void;
}

/** Compute the preview of deploying `ctx.request` with `plan`; changes nothing. */
export async function previewDeploy(
  ctx: PreviewContext,
  plan: readonly PlannedStep[],
  options: PreviewDeployOptions = {},
): Promise<DeployPreview> {
  const { config, ports, request } = ctx;
  const warnings: string[] = [];
  const outputs = await ctx.stack.outputs().catch(() => undefined);
  const current: { service: string; from: ServiceVersion | null }[] = [];
  if (outputs) {
    for (const svc of outputs.services) {
      const running = await runningVersion(ports.ecs, outputs.clusterName, svc);
      current.push({
        service: svc.serviceName,
        from: running
          ? { tag: running.tag, taskDefinitionArn: running.taskDefinitionArn, image: running.image ?? "" }
          : null,
      });
    }
  } else {
    for (const svc of config.stack.services) current.push({ service: svc.name, from: null });
  }

  const serving = current.find((c) => c.from !== null)?.from?.tag;
  const tag = request.tag ?? serving ?? null;
  const image = tag === null ? undefined : await ports.ecr.resolveTag(config.stack.repositoryName, tag);
  if (tag === null) {
    warnings.push("no --tag given and nothing is serving yet: only the infrastructure is previewed");
  } else if (!image) {
    warnings.push(
      `image ${config.stack.repositoryName}:${tag} is not in ECR: a deploy of it would stop in preflight`,
    );
  }

  const preview = await ctx.stack.preview({ onOutput: options.onOutput, savePlan: options.savePlan });
  const planFile = preview.planFile ?? request.planFile ?? null;
  return {
    env: request.env,
    tag,
    tagSource: request.tag !== undefined ? "given" : tag !== null ? "serving" : null,
    planFile,
    plan: plan.map((p) => ({ step: p.step.name, included: p.included, why: p.why })),
    stack: { ...preview, changes: preview.changes.filter((c) => c.op !== "same") },
    image: image ?? null,
    taskDefinitions: current.map(({ service, from }) => ({
      service,
      from,
      to: tag === null ? null : { tag, image: image?.imageUri ?? null },
    })),
    migrations: {
      runs: migrationWanted(ctx),
      command: config.gantry.migration.command ?? null,
    },
    snapshot: {
      taken: snapshotWanted(ctx),
      retention: config.gantry.snapshot.retention,
    },
    warnings,
  };
}
