/** `gantry sandbox …`: lifecycle, images, faults and speeds of the local emulated AWS account. */
import { environmentsIn, SANDBOX } from "../config/environments.ts";
import { parseImageName, serviceImageName } from "../config/image.ts";
import { loadEnvironmentConfig } from "../config/load.ts";
import { parseTag } from "../config/tag.ts";
import { EXIT, SandboxError, UsageError } from "../errors.ts";
import { FAULT_KINDS, SandboxControl, type SandboxSpeeds } from "../sandbox/control.ts";
import { sandboxStatus, startSandbox, stopSandbox } from "../sandbox/process.ts";
import type { AppContext, Outcome } from "./context.ts";

/** What to do with the sandbox. */
export type SandboxOptions =
  | {
      readonly action: "start";
      readonly port?: number | undefined;
      readonly speeds: Partial<Record<keyof SandboxSpeeds, number | undefined>>;
    }
  | { readonly action: "stop" | "status" | "reset" }
  | {
      readonly action: "image";
      readonly tags: readonly string[];
      /** A repository of the sandbox ECR (default: every ECR image of Pulumi.sandbox.yaml's services)… */
      readonly repository?: string | undefined;
      /** …or an image of a sandbox registry, `127.0.0.1:<port>/<name>` (SPEC R29). */
      readonly image?: string | undefined;
    }
  | {
      readonly action: "fault";
      readonly tag: string;
      readonly clear: boolean;
      readonly kind?: string | undefined;
      readonly alarm?: string | undefined;
      readonly delaySeconds?: number | undefined;
      /** Only images of this repository (SPEC R13), e.g. `web`. */
      readonly repository?: string | undefined;
    }
  | { readonly action: "speed"; readonly speeds: Partial<Record<keyof SandboxSpeeds, number | undefined>> };

/**
 * The sandbox ECR repositories the `sandbox` environment's services take their images from
 * (`platform:services[].image`, default `platform:repositoryName`); `app` without a Pulumi.sandbox.yaml.
 */
async function sandboxRepositories(app: AppContext): Promise<string[]> {
  if (!environmentsIn(app.paths.configDir).includes(SANDBOX)) return ["app"];
  const config = await loadEnvironmentConfig(app.paths.configDir, SANDBOX);
  const names = config.stack.services.flatMap((s) => {
    const image = parseImageName(serviceImageName(config.stack, s));
    return image?.kind === "ecr" && image.registryId === undefined ? [image.repository] : [];
  });
  return names.length ? [...new Set(names)] : ["app"];
}

async function runningControl(app: AppContext): Promise<SandboxControl> {
  const status = await sandboxStatus(app.paths.sandboxDir);
  if (!status.running || !status.record) {
    throw new SandboxError(`the sandbox is not running (${status.reason ?? "unknown"})`, {
      code: "SANDBOX_NOT_RUNNING",
      hint: "gantry sandbox start",
      source: "user",
    });
  }
  return new SandboxControl(status.record.endpoint);
}

const FLAGS: Record<keyof SandboxSpeeds, string> = {
  rolloutSeconds: "rollout-seconds",
  snapshotSeconds: "snapshot-seconds",
  taskSeconds: "task-seconds",
};

/** The speeds that were given, validated (absent ones left out). */
function validSpeeds(
  given: Partial<Record<keyof SandboxSpeeds, number | undefined>>,
): Partial<SandboxSpeeds> {
  const speeds: Partial<SandboxSpeeds> = {};
  for (const key of Object.keys(FLAGS) as (keyof SandboxSpeeds)[]) {
    const value = given[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value <= 0 || value > 3600) {
      throw new UsageError(
        `--${FLAGS[key]} must be a number of seconds, more than 0 and at most 3600`,
        `e.g. --${FLAGS[key]} 2`,
      );
    }
    speeds[key] = value;
  }
  return speeds;
}

/** Run one sandbox action; reported as a `result` event. `status` of a stopped sandbox exits 1. */
export async function sandbox(app: AppContext, options: SandboxOptions): Promise<Outcome> {
  const { reporter } = app;
  const result = (title: string, data: unknown, exitCode: number = EXIT.ok): Outcome => {
    reporter.emit({ type: "result", title, data });
    return { exitCode };
  };
  switch (options.action) {
    case "start": {
      const { port } = options;
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
        throw new UsageError(
          `--port must be an integer between 1 and 65535`,
          "omit --port to use a free one",
        );
      }
      const speeds = validSpeeds(options.speeds);
      const started = await startSandbox({
        stateDir: app.paths.sandboxDir,
        toolsDir: app.paths.toolsDir,
        log: (message) => {
          reporter.emit({ type: "progress", message });
        },
        ...(port === undefined ? {} : { port }),
        speeds,
      });
      // A running sandbox keeps its process: apply the requested speeds to it.
      if (started.reused && Object.keys(speeds).length) {
        await new SandboxControl(started.endpoint).setSpeeds(speeds);
      }
      return result(started.reused ? "sandbox already running" : "sandbox started", {
        endpoint: started.endpoint,
        pid: started.pid,
        logFile: started.logFile,
        // Hosts of the OCI registries (their credentials: gantry sandbox status).
        registries: Object.fromEntries((started.registries ?? []).map((r) => [r.name, r.host])),
      });
    }
    case "stop": {
      const stopped = await stopSandbox(app.paths.sandboxDir);
      return result(stopped ? "sandbox stopped" : "sandbox was not running", { stopped });
    }
    case "status": {
      const status = await sandboxStatus(app.paths.sandboxDir);
      return status.running
        ? result("sandbox running", {
            running: true,
            endpoint: status.record?.endpoint,
            pid: status.record?.pid,
            startedAt: status.record?.startedAt,
            epoch: status.health?.epoch,
            speeds: status.health?.speeds,
            // The OCI registries (SPEC R27) and their sandbox-only credentials.
            registries: (status.record?.registries ?? []).map((r) => ({
              name: r.name,
              host: r.host,
              auth: r.auth,
              ...(r.realm ? { realm: r.realm } : {}),
              username: r.username,
              password: r.password,
              running: !status.registriesDown?.includes(r.name),
            })),
            ...(status.record?.registryError ? { registryError: status.record.registryError } : {}),
          })
        : result("sandbox not running", { running: false, reason: status.reason }, EXIT.failed);
    }
    case "reset": {
      await (await runningControl(app)).reset();
      return result("sandbox reset", {
        reset: true,
        next: "gantry stack up --env sandbox re-creates the stack",
      });
    }
    case "image": {
      const tags = options.tags.map((t) => parseTag(t));
      const { image, repository } = options;
      if (image === undefined) {
        const control = await runningControl(app);
        const published = [];
        for (const repo of repository === undefined ? await sandboxRepositories(app) : [repository]) {
          for (const p of await control.publishImages(repo, tags)) published.push({ repository: repo, ...p });
        }
        return result("images published", published);
      }
      if (repository !== undefined || parseImageName(image)?.kind !== "oci") {
        throw new UsageError(
          repository !== undefined
            ? "give --repository (the sandbox ECR) or --image (a sandbox registry), not both"
            : `--image ${image}: not an image of a registry (host:port/name, no tag)`,
          `e.g. gantry sandbox image ${tags[0] ?? "v1.0.0"} --image 127.0.0.1:<port>/org/api (gantry sandbox status lists the registries)`,
        );
      }
      return result("images published", await (await runningControl(app)).publishRegistryImages(image, tags));
    }
    case "fault": {
      const tag = parseTag(options.tag);
      if (options.clear) {
        await (await runningControl(app)).clearFaults(tag);
        return result(`faults cleared for ${tag}`, { tag });
      }
      const kind = FAULT_KINDS.find((k) => k === options.kind);
      if (!kind) {
        throw new UsageError(
          `--kind must be one of ${FAULT_KINDS.join(", ")}`,
          `e.g. gantry sandbox fault ${tag} --kind rollout`,
        );
      }
      const fault = {
        tag,
        kind,
        ...(options.alarm === undefined ? {} : { alarmName: options.alarm }),
        ...(options.delaySeconds === undefined ? {} : { delaySeconds: options.delaySeconds }),
        ...(options.repository === undefined ? {} : { repository: options.repository }),
      };
      await (await runningControl(app)).addFault(fault);
      return result("fault marked", fault);
    }
    case "speed": {
      const speeds = validSpeeds(options.speeds);
      const control = await runningControl(app);
      const now = Object.keys(speeds).length
        ? await control.setSpeeds(speeds)
        : (await control.health()).speeds;
      return result("sandbox speeds", now);
    }
  }
}
