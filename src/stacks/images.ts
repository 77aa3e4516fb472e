/**
 * The images an environment's task families start from, the same for the AWS and the sandbox
 * programs: each service's image name (src/config/image.ts; its own `image`, else
 * `platform:repositoryName`), the service whose image the migration task runs, and the ECR
 * repositories of the environment's own account those names need. Pure: imports no Pulumi package.
 */
import path from "node:path";
import { type ImageName, parseImageName, serviceImageName } from "../config/image.ts";
import type { EnvironmentConfig } from "../config/schema.ts";
import { ConfigError } from "../errors.ts";

/** One service's image name as configured, parsed. */
export interface ServiceImage {
  readonly service: string;
  /** The name as written (src/config/image.ts), e.g. `api` or `ghcr.io/org/api`. */
  readonly name: string;
  readonly parsed: ImageName;
}

/** Parse an image name the schema accepted; a ConfigError naming the file and key otherwise. */
function parsedImage(config: EnvironmentConfig, name: string, key: string): ImageName {
  const parsed = parseImageName(name);
  if (parsed) return parsed;
  throw new ConfigError(`${path.basename(config.file)}: ${key}: "${name}" is not an image name`, {
    hint: `write an ECR repository name (api) or an image reference without tag (ghcr.io/org/api) in ${config.file}`,
  });
}

/** The image of `config.stack.services[index]`. */
export function serviceImage(
  config: EnvironmentConfig,
  svc: EnvironmentConfig["stack"]["services"][number],
  index: number,
): ServiceImage {
  const name = serviceImageName(config.stack, svc);
  const key = svc.image === undefined ? "platform:repositoryName" : `platform:services.${index}.image`;
  return { service: svc.name, name, parsed: parsedImage(config, name, key) };
}

/** Each service's image, in config order. */
export function serviceImages(config: EnvironmentConfig): readonly ServiceImage[] {
  return config.stack.services.map((svc, i) => serviceImage(config, svc, i));
}

/** The service whose image the migration task runs: `gantry:migration.service`, default the first service. */
export function migrationImage(config: EnvironmentConfig): ServiceImage {
  const images = serviceImages(config);
  const wanted = config.gantry.migration.service ?? images[0]?.service;
  const found = images.find((image) => image.service === wanted);
  if (found) return found;
  throw new ConfigError(
    `${path.basename(config.file)}: gantry:migration.service: "${String(wanted)}" is not one of platform:services`,
    { hint: `name one of: ${images.map((i) => i.service).join(", ")}` },
  );
}

/**
 * The ECR repositories of the environment's own account and region that `images` name (bare
 * repository names; a full ECR host names someone else's registry), each once, in order.
 */
export function ownEcrRepositories(images: readonly ServiceImage[]): readonly string[] {
  const names = images.flatMap(({ parsed }) =>
    parsed.kind === "ecr" && parsed.registryId === undefined ? [parsed.repository] : [],
  );
  return [...new Set(names)];
}
