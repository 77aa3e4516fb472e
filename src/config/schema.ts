/**
 * The per-environment configuration schema (Pulumi.<env>.yaml), shared by the stacks and the
 * orchestrator. Stack keys live in the Pulumi project's namespace (`platform:`), orchestrator
 * keys in `gantry:`; `aws:region` is shared. The sandbox stack reads a subset of the stack keys;
 * keys only the AWS stack needs (domain, github, stateBucket) are optional here and required by
 * src/stacks/aws/settings.ts, so that the sandbox file stays short.
 */
import { z } from "zod";
import { type EnvironmentName, isEnvironmentName, SANDBOX } from "./environments.ts";
import { parseImageName } from "./image.ts";

/** `T` with every property and array element readonly, all the way down (what deep freezing makes it). */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer E)[]
    ? readonly DeepReadonly<E>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/** The Pulumi project name, i.e. the namespace of the stack's own config keys. */
export const PROJECT_NAME = "platform";

/** Name of the migration task's container, and the suffix of its task definition family. */
export const MIGRATION_CONTAINER = "migrate";

const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}$/, "lowercase letters, digits and dashes, starting with a letter");

const hostname = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    "a lowercase DNS name such as dev.example.com",
  );

/** An image without tag (src/config/image.ts): an ECR repository name or a full OCI reference. */
const imageName = z.string().refine((v) => parseImageName(v) !== undefined, {
  error:
    "an ECR repository name (api, team/api) or an image reference without tag or digest (ghcr.io/org/api)",
});

/** A registry host as images name it: `ghcr.io`, `registry.example.com:5000`, `127.0.0.1:5000`. */
const registryHost = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/, "a registry host such as ghcr.io or host:5000");

/** Task sizes Fargate accepts: memory (MiB) allowed for each CPU value (units). */
export const FARGATE_SIZES: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
  4096: Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
  8192: Array.from({ length: 12 }, (_, i) => 16384 + i * 4096),
  16384: Array.from({ length: 12 }, (_, i) => 32768 + i * 8192),
};

const fargateCpu = z.literal([256, 512, 1024, 2048, 4096, 8192, 16384]);

/** Adds an issue at `memory` when the pair is not a Fargate task size. */
function checkFargateSize(size: { cpu: number; memory: number }, ctx: z.RefinementCtx): void {
  const allowed = FARGATE_SIZES[size.cpu] ?? [];
  if (!allowed.includes(size.memory)) {
    ctx.addIssue({
      code: "custom",
      path: ["memory"],
      message: `with cpu ${size.cpu} Fargate allows memory ${allowed.join(", ")}`,
    });
  }
}

/** CPU-based target tracking of one service's desired count. */
export const autoscalingConfigSchema = z.strictObject({
  minCount: z.number().int().min(1).max(100),
  maxCount: z.number().int().min(1).max(100),
  cpuTargetPercent: z.number().int().min(10).max(95).default(60),
  scaleInCooldownSeconds: z.number().int().min(0).max(3600).default(300),
  scaleOutCooldownSeconds: z.number().int().min(0).max(3600).default(60),
});

/** One ECS service of the environment. */
export const serviceConfigSchema = z
  .strictObject({
    name,
    /** Where the service's image comes from (default: `repositoryName`, an ECR repository). */
    image: imageName.optional(),
    containerPort: z.number().int().min(1).max(65535).default(8080),
    desiredCount: z.number().int().min(1).max(100).default(1),
    cpu: fargateCpu.default(256),
    memory: z.number().int().positive().default(512),
    healthCheckPath: z.string().startsWith("/").default("/health"),
    /** ALB path patterns routed to this service; empty = the listener's default route. */
    pathPatterns: z.array(z.string().startsWith("/").max(128)).max(5).default([]),
    minHealthyPercent: z.number().int().min(0).max(100).default(100),
    maxHealthyPercent: z.number().int().min(100).max(200).default(200),
    healthCheckGracePeriodSeconds: z.number().int().min(0).max(3600).default(30),
    autoscaling: autoscalingConfigSchema.optional(),
  })
  .superRefine((svc, ctx) => {
    checkFargateSize(svc, ctx);
    const scaling = svc.autoscaling;
    if (scaling && !(scaling.minCount <= svc.desiredCount && svc.desiredCount <= scaling.maxCount)) {
      ctx.addIssue({
        code: "custom",
        path: ["autoscaling"],
        message: `minCount <= desiredCount (${svc.desiredCount}) <= maxCount is required`,
      });
    }
  });

/** Alarm kinds the stack can create; service kinds are created once per service. */
export const ALARM_KINDS = [
  "http-5xx",
  "unhealthy-hosts",
  "cpu",
  "memory",
  "db-cpu",
  "db-free-storage",
] as const;
/** One of {@link ALARM_KINDS}. */
export type AlarmKind = (typeof ALARM_KINDS)[number];

/** Retention values CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const secretArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:|ssm:[a-z0-9-]+:\d{12}:parameter\/)\S+$/,
    "the ARN of a Secrets Manager secret or an SSM parameter",
  );

/** Keys of the stack (namespace `platform:`). Keys only the AWS stack needs are optional here and checked by it. */
export const stackConfigSchema = z
  .strictObject({
    services: z.array(serviceConfigSchema).min(1),
    repositoryName: name.default("app"),
    /**
     * Private registries other than ECR: the Secrets Manager secret (`{"username","password"}`)
     * ECS pulls with (the container's repositoryCredentials; the execution role may read it).
     */
    registries: z
      .record(
        registryHost,
        z.strictObject({
          credentialsArn: z
            .string()
            .regex(
              /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+$/,
              "the ARN of a Secrets Manager secret",
            ),
        }),
      )
      .default({}),
    images: z
      .strictObject({
        keepLast: z.number().int().min(1).max(1000).default(10),
        initialTag: z
          .string()
          .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, "a Docker tag")
          .default("bootstrap"),
      })
      .prefault({}),
    network: z
      .strictObject({
        availabilityZones: z.number().int().min(2).max(6).default(2),
        natGateways: z.enum(["single", "onePerAz"]).default("single"),
        cidrBlock: z
          .string()
          .regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, "an IPv4 CIDR block from /16 to /24")
          .default("10.0.0.0/16"),
      })
      .prefault({}),
    cluster: z
      .strictObject({ containerInsights: z.enum(["disabled", "enabled", "enhanced"]).default("disabled") })
      .prefault({}),
    loadBalancer: z
      .strictObject({
        healthCheckIntervalSeconds: z.number().int().min(5).max(300).default(10),
        healthCheckTimeoutSeconds: z.number().int().min(2).max(120).default(5),
        healthyThreshold: z.number().int().min(2).max(10).default(2),
        unhealthyThreshold: z.number().int().min(2).max(10).default(2),
        deregistrationDelaySeconds: z.number().int().min(0).max(3600).default(30),
        idleTimeoutSeconds: z.number().int().min(1).max(4000).default(60),
      })
      .refine((lb) => lb.healthCheckTimeoutSeconds < lb.healthCheckIntervalSeconds, {
        path: ["healthCheckTimeoutSeconds"],
        message: "must be less than healthCheckIntervalSeconds",
      })
      .prefault({}),
    domain: z
      .strictObject({
        name: hostname,
        hostedZone: hostname,
        certificateArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/, "an ACM certificate ARN")
          .optional(),
      })
      .refine((d) => d.name === d.hostedZone || d.name.endsWith(`.${d.hostedZone}`), {
        path: ["name"],
        message: "must be the hosted zone's apex or a name inside it",
      })
      .optional(),
    database: z
      .strictObject({
        instanceClass: z
          .string()
          .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "an RDS class such as db.t4g.micro")
          .default("db.t4g.micro"),
        allocatedStorage: z.number().int().min(20).max(65536).default(20),
        engineVersion: z
          .string()
          .regex(/^\d+(\.\d+)?$/, "a PostgreSQL version such as 16 or 16.4")
          .default("16"),
        multiAz: z.boolean().default(false),
        dbName: z
          .string()
          .regex(/^[a-z][a-z0-9_]{0,62}$/, "lowercase letters, digits and _")
          .default("app"),
        masterUsername: z
          .string()
          .regex(/^[a-z][a-z0-9_]{0,15}$/, "lowercase letters, digits and _")
          .default("postgres"),
        backupRetentionDays: z.number().int().min(0).max(35).default(7),
        backupWindow: z
          .string()
          .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, "hh:mm-hh:mm in UTC")
          .default("03:00-03:30"),
        maintenanceWindow: z
          .string()
          .regex(
            /^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$/,
            "ddd:hh:mm-ddd:hh:mm in UTC, e.g. sun:04:00-sun:04:30",
          )
          .default("sun:04:00-sun:04:30"),
        deletionProtection: z.boolean().default(true),
        finalSnapshot: z.boolean().default(true),
      })
      .prefault({}),
    migration: z
      .strictObject({ cpu: fargateCpu.default(256), memory: z.number().int().positive().default(512) })
      .superRefine(checkFargateSize)
      .prefault({}),
    logRetentionDays: z.literal(LOG_RETENTION_DAYS).default(14),
    secrets: z
      .record(
        z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "an environment variable name such as API_KEY"),
        secretArn,
      )
      .default({}),
    alarms: z.array(z.enum(ALARM_KINDS)).default([]),
    alarmThresholds: z
      .strictObject({
        http5xxPerMinute: z.number().int().min(1).default(5),
        unhealthyHosts: z.number().int().min(1).default(1),
        cpuPercent: z.number().min(1).max(100).default(80),
        memoryPercent: z.number().min(1).max(100).default(80),
        dbCpuPercent: z.number().min(1).max(100).default(80),
        dbFreeStoragePercent: z.number().min(1).max(90).default(10),
      })
      .prefault({}),
    github: z
      .strictObject({
        repository: z
          .string()
          .regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, "owner/name of the GitHub repository"),
        environment: z.string().min(1).max(255).optional(),
      })
      .optional(),
    stateBucket: z
      .strictObject({
        name: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name"),
        prefix: z
          .string()
          .regex(
            /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/,
            "a key prefix without leading or trailing /",
          )
          .default("gantry"),
      })
      .optional(),
  })
  .superRefine((stack, ctx) => {
    const seen = new Set<string>();
    stack.services.forEach((svc, i) => {
      if (seen.has(svc.name) || svc.name === MIGRATION_CONTAINER) {
        ctx.addIssue({
          code: "custom",
          path: ["services", i, "name"],
          message: `must be unique and not "${MIGRATION_CONTAINER}" (the migration task's name)`,
        });
      }
      seen.add(svc.name);
    });
  });

const envVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name such as SMOKE_TOKEN");

/**
 * A value read from gantry's own environment when a deploy starts (never written in the file):
 * `{ fromEnv: "SMOKE_TOKEN", prefix: "Bearer " }`. Always treated as a secret: masked in all output.
 */
export const secretRefSchema = z.strictObject({
  fromEnv: envVarName,
  /** Text put before the value, e.g. `Bearer ` for an Authorization header. */
  prefix: z.string().max(100).default(""),
});
/** A {@link secretRefSchema} value. */
export type SecretRef = DeepReadonly<z.infer<typeof secretRefSchema>>;

const stringOrSecret = z.union([z.string(), secretRefSchema], {
  error: "a string, or { fromEnv: VAR_NAME } to read a secret from the environment",
});

/** A command: a string (run by /bin/sh -c) or an argv list (run directly). */
const commandLine = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: 'a shell command string such as "npm run test:smoke", or an argv list',
});

/** A command gantry runs on this machine (smoke command, hooks), with its own environment. */
export const commandConfigSchema = z.strictObject({
  command: commandLine,
  timeoutSeconds: z.number().int().min(1).max(7200).default(300),
  /** Extra environment variables: plain strings, or secrets from gantry's environment. */
  env: z
    .record(envVarName, stringOrSecret)
    .superRefine((env, ctx) => {
      for (const key of Object.keys(env)) {
        if (key.startsWith("GANTRY_") || key === "BASE_URL") {
          ctx.addIssue({ code: "custom", path: [key], message: "GANTRY_* and BASE_URL are set by gantry" });
        }
      }
    })
    .default({}),
});
/** A {@link commandConfigSchema} value. */
export type CommandConfig = DeepReadonly<z.infer<typeof commandConfigSchema>>;

const jsonScalar = z.union([z.string(), z.number(), z.boolean(), z.null()], {
  error: "a string, number, boolean or null",
});
const httpStatus = z.number().int().min(100).max(599);

/** One declarative HTTP smoke check. */
export const httpCheckConfigSchema = z
  .strictObject({
    name: z.string().min(1).max(100).optional(),
    /** Service whose URL is the base of `path` (default: `gantry:smoke.service`, else the first). */
    service: name.optional(),
    /** Path relative to the service's base URL (the origin of its health URL)... */
    path: z.string().startsWith("/").optional(),
    /** ...or an absolute URL. */
    url: z.url({ protocol: /^https?$/, error: "an absolute http(s) URL" }).optional(),
    method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET"),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "an HTTP header name"), stringOrSecret)
      .default({}),
    /** JSON request body (sent with content-type application/json). */
    body: z.json().optional(),
    expectStatus: z.union([httpStatus, z.array(httpStatus).min(1)]).default(200),
    /** Dotted JSON field → expected value; strings may use ${env}, ${tag} and ${deploymentId}. */
    expectJson: z.record(z.string().min(1), jsonScalar).default({}),
    maxLatencyMs: z.number().int().min(1).max(120_000).optional(),
    /** Extra attempts after a failure, 1 s apart, while the bake window lasts. */
    retries: z.number().int().min(0).max(100).default(0),
  })
  .refine((c) => (c.path === undefined) !== (c.url === undefined), {
    path: ["path"],
    error: "give exactly one of path (relative to the service's URL) or url",
  });
/** A {@link httpCheckConfigSchema} value. */
export type HttpCheckConfig = DeepReadonly<z.infer<typeof httpCheckConfigSchema>>;

/** The smoke gate: HTTP checks and/or a command, run after the rollout completes, within the bake. */
export const smokeConfigSchema = z
  .strictObject({
    /** The service whose base URL is BASE_URL and the base of relative paths (default: the first). */
    service: name.optional(),
    checks: z.array(httpCheckConfigSchema).max(50).default([]),
    command: commandConfigSchema.optional(),
  })
  .refine((s) => s.checks.length > 0 || s.command !== undefined, {
    error: "give checks, a command, or both",
  });
/** A {@link smokeConfigSchema} value. */
export type SmokeConfig = DeepReadonly<z.infer<typeof smokeConfigSchema>>;

/** Commands run at fixed moments of a deploy (README "Smoke tests and hooks"). */
export const hooksConfigSchema = z.strictObject({
  /** After preflight, before the stack update; a failure aborts with nothing changed (exit 1). */
  preDeploy: commandConfigSchema.optional(),
  /** After the gates passed; `onError: fail` rolls the release back, `warn` only reports. */
  postDeploy: commandConfigSchema.extend({ onError: z.enum(["fail", "warn"]).default("fail") }).optional(),
  /** After a failed deploy was rolled back and verified. */
  onRollback: commandConfigSchema.optional(),
  /** After any deploy that did not succeed (failed, rolled back or interrupted). */
  onFailure: commandConfigSchema.optional(),
});
/** Names of the hooks. */
export type HookName = keyof z.infer<typeof hooksConfigSchema>;

/** Credentials gantry resolves tags with in a registry other than ECR (README "Registries"). */
export const registryCredentialsSchema = z.strictObject({
  username: stringOrSecret.optional(),
  password: secretRefSchema.optional(),
});
/** A {@link registryCredentialsSchema} value. */
export type RegistryCredentials = DeepReadonly<z.infer<typeof registryCredentialsSchema>>;

/** Keys of the orchestrator (namespace `gantry:`). */
export const gantryConfigSchema = z.strictObject({
  /**
   * The account the environment lives on: `aws` (a real one) or `sandbox` (the local emulated one,
   * which hosts several environments). Default: `sandbox` for the environment named sandbox, else `aws`.
   */
  account: z.enum(["aws", "sandbox"]).optional(),
  registries: z.record(registryHost, registryCredentialsSchema).default({}),
  snapshot: z
    .strictObject({
      enabled: z.boolean().default(false),
      retention: z.number().int().min(0).max(100).default(5),
      /** Deadline for the snapshot to become available (large databases take long). */
      timeoutSeconds: z.number().int().min(1).max(86_400).default(3600),
    })
    .default({ enabled: false, retention: 5, timeoutSeconds: 3600 }),
  migration: z
    .strictObject({
      command: z.array(z.string().min(1)).min(1).optional(),
      /** The service whose image the migration task runs (default: the first service). */
      service: name.optional(),
      timeoutSeconds: z.number().int().min(1).max(7200).default(600),
    })
    .default({ timeoutSeconds: 600 }),
  bakeSeconds: z.number().int().min(0).max(3600).default(60),
  health: z
    .strictObject({ versionField: z.string().min(1).default("version") })
    .default({ versionField: "version" }),
  alarms: z.array(z.string().min(1)).default([]),
  deployTimeoutSeconds: z.number().int().min(30).max(14_400).default(1800),
  approvalRequired: z.boolean().default(false),
  /**
   * Where this environment's releases come from: a deploy goes ahead only for digests that
   * succeeded in `from` (and, with `requireServing`, that `from` serves now, healthy, for at least
   * `minSoakMinutes`). `gantry promote --from <from> --to <this>` deploys what `from` serves.
   */
  promotion: z
    .strictObject({
      from: z.string().refine(isEnvironmentName, "an environment name (lowercase letters, digits, dashes)"),
      requireServing: z.boolean().default(true),
      minSoakMinutes: z.number().int().min(0).max(10_080).default(0),
    })
    .optional(),
  smoke: smokeConfigSchema.optional(),
  hooks: hooksConfigSchema.default({}),
});

/** The account an environment lives on: `gantry:account`, by default `sandbox` only for the environment named sandbox. */
export function accountOf(config: Pick<EnvironmentConfig, "env" | "gantry">): "aws" | "sandbox" {
  return config.gantry.account ?? (config.env === SANDBOX ? "sandbox" : "aws");
}

/** The validated configuration of one environment, deeply frozen (src/config/load.ts). */
export interface EnvironmentConfig {
  readonly env: EnvironmentName;
  readonly file: string;
  readonly region: string;
  readonly stack: DeepReadonly<z.infer<typeof stackConfigSchema>>;
  readonly gantry: DeepReadonly<z.infer<typeof gantryConfigSchema>>;
  /** Every key of the file as Pulumi stack config (structured values as JSON), applied before each run. */
  readonly pulumiConfig: Readonly<Record<string, string>>;
}
