/**
 * The app-level preview of a deploy, as data: the plan's steps, the stack diff, each service's
 * image tag → digest and its task definition "from → to", whether migrations run and a snapshot is taken.
 * One function for `gantry deploy --dry-run` (printed as JSON) and `gantry preview` (markdown).
 * It only reads: the registries, ECS and a Pulumi preview (which may save an update plan).
 */
import type { ResolvedImage } from "../aws/ports.ts";
import type { PreviewResult } from "../pulumi/port.ts";
import { serviceImageName } from "../config/image.ts";
import { oneLine } from "../errors.ts";
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
  /** `sha256:…` when its image is a digest reference. */
  readonly digest: string | null;
}

/** One service's task definition before and after the deploy. */
export interface TaskDefinitionChange {
  /** The ECS service (the service's name when it does not exist yet). */
  readonly service: string;
  /** Its image as configured (an ECR repository or `registry/name`). */
  readonly imageName: string;
  readonly from: ServiceVersion | null;
  /**
   * What the release would give it: `image` is the digest reference it would register, null when
   * the tag is not found; `to` is null when the service is not part of the release (or no tag).
   */
  readonly to: { readonly tag: string; readonly digest: string | null; readonly image: string | null } | null;
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
  /** The first released service's image; null when its tag is not found (a deploy would stop in preflight). */
  readonly image: ResolvedImage | null;
  /** Every service: its version now → after. */
  readonly taskDefinitions: readonly TaskDefinitionChange[];
  readonly migrations: { readonly runs: boolean; readonly command: readonly string[] | null };
  readonly snapshot: { readonly taken: boolean; readonly retention: number };
  /** Things a reviewer must see (a tag not found, nothing serving, …). */
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
  const from = new Map<string, { service: string; version: ServiceVersion | null }>();
  for (const svc of config.stack.services) {
    const deployed = outputs?.services.find((s) => s.name === svc.name);
    const running =
      outputs && deployed ? await runningVersion(ports.ecs, outputs.clusterName, deployed) : undefined;
    from.set(svc.name, {
      service: deployed?.serviceName ?? svc.name,
      version: running
        ? {
            tag: running.tag,
            taskDefinitionArn: running.taskDefinitionArn,
            image: running.image ?? "",
            digest: running.digest ?? null,
          }
        : null,
    });
  }

  // Each service's tag: its target's; without targets, --tag; without --tag, the one it serves.
  const targets = request.targets ? new Map(request.targets.map((t) => [t.name, t.tag])) : undefined;
  const tagOf = (name: string): string | undefined =>
    targets ? targets.get(name) : (request.tag ?? from.get(name)?.version?.tag);
  const changes = await Promise.all(
    config.stack.services.map(async (svc): Promise<TaskDefinitionChange> => {
      const imageName = serviceImageName(config.stack, svc);
      const now = from.get(svc.name);
      const tag = tagOf(svc.name);
      let resolved: ResolvedImage | undefined;
      if (tag !== undefined) {
        resolved = await ports.images.resolve(imageName, tag).catch((err: unknown) => {
          warnings.push(`${svc.name}: ${oneLine(err)}`);
          return undefined;
        });
        if (!resolved)
          warnings.push(`${svc.name}: image ${imageName}:${tag} not found: a deploy would stop in preflight`);
      }
      return {
        service: now?.service ?? svc.name,
        imageName,
        from: now?.version ?? null,
        to:
          tag === undefined
            ? null
            : { tag, digest: resolved?.digest ?? null, image: resolved?.imageUri ?? null },
      };
    }),
  );
  const firstTo = changes.find((c) => c.to !== null)?.to ?? null;
  const tag = request.tag ?? firstTo?.tag ?? null;
  if (tag === null) {
    warnings.unshift("no --tag given and nothing is serving yet: only the infrastructure is previewed");
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
    image:
      firstTo?.digest && firstTo.image
        ? { tag: firstTo.tag, digest: firstTo.digest, imageUri: firstTo.image }
        : null,
    taskDefinitions: changes,
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
