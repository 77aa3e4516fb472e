/**
 * Task definitions as gantry reads and revises them: pure functions over the port's
 * TaskDefinitionDocument, with no SDK behind them, so steps use them without loading the ECS client.
 */
import { AwsError } from "../errors.ts";
import type { TaskDefinitionDocument } from "./ports.ts";

/** Fields DescribeTaskDefinition returns that RegisterTaskDefinition accepts. */
const REGISTERABLE = [
  "family",
  "taskRoleArn",
  "executionRoleArn",
  "networkMode",
  "containerDefinitions",
  "volumes",
  "placementConstraints",
  "requiresCompatibilities",
  "cpu",
  "memory",
  "pidMode",
  "ipcMode",
  "proxyConfiguration",
  "inferenceAccelerators",
  "ephemeralStorage",
  "runtimePlatform",
] as const;

/** Name of the container environment variable that carries the deployed tag (DESIGN.md). */
export const VERSION_ENV = "APP_VERSION";

type EnvVar = { name?: string; value?: string };

/**
 * The tag a task definition's container runs: its APP_VERSION, else the image's tag, else the
 * image reference itself (a bare digest).
 */
export function containerVersion(definition: TaskDefinitionDocument, containerName: string): string {
  const c = definition.containerDefinitions?.find((x) => x.name === containerName);
  const env = (c?.environment as EnvVar[] | undefined)?.find((e) => e.name === VERSION_ENV);
  if (env?.value) return env.value;
  const image = c?.image ?? "";
  return /:([^/:@]+)$/.exec(image)?.[1] ?? image;
}

const DIGEST_REFERENCE = /@(sha256:[0-9a-f]{64})$/;

/** The digest of a task definition's container image when it is a digest reference (`…@sha256:…`). */
export function containerDigest(
  definition: TaskDefinitionDocument,
  containerName: string,
): string | undefined {
  const image = definition.containerDefinitions?.find((x) => x.name === containerName)?.image;
  return image === undefined ? undefined : DIGEST_REFERENCE.exec(image)?.[1];
}

/**
 * The next revision of a task definition: the same definition with `containerName`'s image set to
 * `image` (a digest reference) and, when `version` is given, its APP_VERSION set to it; nothing
 * else changes (DESIGN.md "Release model").
 */
export function nextRevision(
  current: TaskDefinitionDocument,
  containerName: string,
  image: string,
  version?: string,
): TaskDefinitionDocument {
  const containers = current.containerDefinitions ?? [];
  if (!containers.some((c) => c.name === containerName)) {
    throw new AwsError(
      `task definition ${current.taskDefinitionArn ?? "?"} has no container "${containerName}"`,
      {
        code: "ECS_CONTAINER_NOT_FOUND",
        source: "user",
        hint: "the stack's containerName output must name a container of the service's task definition",
      },
    );
  }
  const next: Record<string, unknown> = {};
  for (const key of REGISTERABLE) if (current[key] !== undefined) next[key] = current[key];
  next.containerDefinitions = containers.map((c) => {
    if (c.name !== containerName) return c;
    if (version === undefined) return { ...c, image };
    const environment = ((c.environment as EnvVar[] | undefined) ?? []).filter((e) => e.name !== VERSION_ENV);
    return { ...c, image, environment: [...environment, { name: VERSION_ENV, value: version }] };
  });
  return next;
}
