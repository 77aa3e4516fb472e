/**
 * What the AWS stack needs from an environment's config, checked before any resource is declared,
 * and every name the stack gives a resource. The keys the sandbox does not need (domain, github,
 * stateBucket) are optional in the shared schema and required here, with the same error format
 * as the loader: file, key, what is allowed. Pure: imports no Pulumi package.
 */
import path from "node:path";
import { ConfigError } from "../../errors.ts";
import {
  type AlarmKind,
  type EnvironmentConfig,
  MIGRATION_CONTAINER,
  PROJECT_NAME,
} from "../../config/schema.ts";
import { migrationImage, ownEcrRepositories, type ServiceImage, serviceImage } from "../images.ts";

type StackConfig = EnvironmentConfig["stack"];

/** One configured service with its derived names. */
export type ServiceSettings = Omit<StackConfig["services"][number], "image"> & {
  /** The image its task family starts from (src/config/image.ts): its own `image`, else `repositoryName`. */
  readonly image: ServiceImage;
  /** Task definition family (also the log group's last segment). */
  readonly family: string;
  readonly logGroupName: string;
  /** `https://<domain><healthCheckPath>`. */
  readonly healthUrl: string;
};

/** The validated, AWS-specific view of an {@link EnvironmentConfig}. */
export interface AwsSettings {
  readonly env: EnvironmentConfig["env"];
  readonly region: string;
  /** `gantry-<env>`: the prefix of every named resource. */
  readonly prefix: string;
  readonly clusterName: string;
  readonly services: readonly ServiceSettings[];
  readonly migration: StackConfig["migration"] & {
    readonly family: string;
    readonly containerName: string;
    readonly logGroupName: string;
    readonly command: readonly string[] | undefined;
    /** The image of the service named by `gantry:migration.service` (default the first). */
    readonly image: ServiceImage;
  };
  readonly database: StackConfig["database"] & {
    readonly identifier: string;
    /** Taken when the instance is deleted; outside {@link snapshotPrefix}, so no deploy can delete it. */
    readonly finalSnapshotIdentifier: string;
    /** Prefix of the (pre-deploy) snapshot identifiers the deploy role may create and delete: `gantry-<env>-`. */
    readonly snapshotPrefix: string;
  };
  readonly domain: NonNullable<StackConfig["domain"]>;
  readonly github: { readonly repository: string; readonly environment: string };
  readonly stateBucket: NonNullable<StackConfig["stateBucket"]>;
  readonly network: StackConfig["network"];
  readonly cluster: StackConfig["cluster"];
  readonly loadBalancer: StackConfig["loadBalancer"];
  readonly images: StackConfig["images"];
  /** Private registries' pull credentials, by registry host. */
  readonly registries: StackConfig["registries"];
  /** The repositories of the account's ECR the images name, each once (the bootstrap stack creates them). */
  readonly ecrRepositories: readonly string[];
  readonly logRetentionDays: number;
  readonly secrets: Readonly<Record<string, string>>;
  readonly alarms: readonly AlarmKind[];
  readonly alarmThresholds: StackConfig["alarmThresholds"];
  /** Alarm names of `gantry:alarms`: not created here, but the deploy role may read them. */
  readonly extraGateAlarms: readonly string[];
  /** The deploy role's session limit: the deploy deadline plus 15 minutes, between 1 and 12 hours. */
  readonly deploySessionSeconds: number;
  /** Roles and policies: `<prefix>-task-execution`, `<prefix>-task`, `<prefix>-deploy`. */
  readonly roleNames: { readonly execution: string; readonly task: string; readonly deploy: string };
}

/** Variables the stack itself sets in every container; `platform:secrets` may not reuse them. */
export const RESERVED_VARIABLES = [
  "ENVIRONMENT",
  "APP_VERSION",
  "DATABASE_HOST",
  "DATABASE_PORT",
  "DATABASE_NAME",
  "DATABASE_USER",
  "DATABASE_PASSWORD",
] as const;

/** Name of an alarm: `gantry-<env>-<kind>` for database kinds, `gantry-<env>-<service>-<kind>` for service kinds. */
export function alarmName(prefix: string, kind: AlarmKind, service?: string): string {
  return service === undefined ? `${prefix}-${kind}` : `${prefix}-${service}-${kind}`;
}

/** Whether an ALB path pattern (`*` and `?` wildcards) matches a request path. */
export function pathPatternMatches(pattern: string, requestPath: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${regex}$`).test(requestPath);
}

function required<T>(config: EnvironmentConfig, key: string, value: T | undefined, example: string): T {
  if (value !== undefined) return value;
  const full = `${PROJECT_NAME}:${key}`;
  throw new ConfigError(
    `${path.basename(config.file)}: ${full}: required for the AWS environments, e.g. ${example}`,
    { hint: `set ${full} in ${config.file} (see README "AWS environments")` },
  );
}

function invalid(config: EnvironmentConfig, key: string, message: string): ConfigError {
  const full = `${PROJECT_NAME}:${key}`;
  return new ConfigError(`${path.basename(config.file)}: ${full}: ${message}`, {
    hint: `fix ${full} in ${config.file} (see README "AWS environments")`,
  });
}

/** Routing rules the ALB needs: at most one default service, and each health path reaches its own service. */
function checkRouting(config: EnvironmentConfig): void {
  const services = config.stack.services;
  const defaults = services.flatMap((svc, i) => (svc.pathPatterns.length === 0 ? [i] : []));
  const second = defaults[1];
  if (second !== undefined) {
    throw invalid(
      config,
      `services.${second}.pathPatterns`,
      `required: services.${defaults[0] ?? 0} already takes the default route; give this service path patterns such as ["/${services[second]?.name ?? "x"}/*"]`,
    );
  }
  services.forEach((svc, i) => {
    const owner = services.find((other) =>
      other.pathPatterns.some((p) => pathPatternMatches(p, svc.healthCheckPath)),
    );
    const reachesItself = owner ? owner === svc : svc.pathPatterns.length === 0;
    if (!reachesItself) {
      throw invalid(
        config,
        `services.${i}.healthCheckPath`,
        `${svc.healthCheckPath} is routed to ${owner?.name ?? "the default service"}; it must match one of this service's pathPatterns (${svc.pathPatterns.join(", ")})`,
      );
    }
  });
}

/**
 * Check that `config` has what the AWS stack needs and derive every resource name from it.
 * Throws a {@link ConfigError} naming the file and key otherwise.
 */
export function awsSettings(config: EnvironmentConfig): AwsSettings {
  const stack = config.stack;
  const domain = required(
    config,
    "domain",
    stack.domain,
    "{ name: dev.example.com, hostedZone: example.com }",
  );
  const github = required(config, "github", stack.github, "{ repository: my-org/my-app }");
  const stateBucket = required(config, "stateBucket", stack.stateBucket, "{ name: my-org-gantry-state }");
  checkRouting(config);
  const reserved = Object.keys(stack.secrets).find((key) =>
    (RESERVED_VARIABLES as readonly string[]).includes(key),
  );
  if (reserved) {
    throw invalid(
      config,
      `secrets.${reserved}`,
      `set by the stack itself; reserved: ${RESERVED_VARIABLES.join(", ")}`,
    );
  }

  const prefix = `gantry-${config.env}`;
  const logGroup = (suffix: string): string => `/ecs/${prefix}/${suffix}`;
  const identifier = `${prefix}-db`;
  const services = stack.services.map((svc, i) => ({
    ...svc,
    image: serviceImage(config, svc, i),
    family: `${prefix}-${svc.name}`,
    logGroupName: logGroup(svc.name),
    healthUrl: `https://${domain.name}${svc.healthCheckPath}`,
  }));
  return Object.freeze({
    env: config.env,
    region: config.region,
    prefix,
    clusterName: prefix,
    services,
    migration: {
      ...stack.migration,
      family: `${prefix}-${MIGRATION_CONTAINER}`,
      containerName: MIGRATION_CONTAINER,
      logGroupName: logGroup(MIGRATION_CONTAINER),
      command: config.gantry.migration.command,
      image: migrationImage(config),
    },
    database: {
      ...stack.database,
      identifier,
      finalSnapshotIdentifier: `final-${identifier}`,
      snapshotPrefix: `${prefix}-`,
    },
    domain,
    github: { repository: github.repository, environment: github.environment ?? config.env },
    stateBucket,
    network: stack.network,
    cluster: stack.cluster,
    loadBalancer: stack.loadBalancer,
    images: stack.images,
    registries: stack.registries,
    ecrRepositories: ownEcrRepositories(services.map((svc) => svc.image)),
    logRetentionDays: stack.logRetentionDays,
    secrets: stack.secrets,
    alarms: stack.alarms,
    alarmThresholds: stack.alarmThresholds,
    extraGateAlarms: config.gantry.alarms,
    deploySessionSeconds: Math.min(43_200, Math.max(3600, config.gantry.deployTimeoutSeconds + 900)),
    roleNames: {
      execution: `${prefix}-task-execution`,
      task: `${prefix}-task`,
      deploy: `${prefix}-deploy`,
    },
  });
}
