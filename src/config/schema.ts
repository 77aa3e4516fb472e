/**
 * The per-environment configuration schema (Pulumi.<env>.yaml), shared by the stacks and the
 * orchestrator. Stack keys live in the Pulumi project's namespace (`platform:`), orchestrator
 * keys in `gantry:`; `aws:region` is shared. Issue #4 extends the stack keys for real AWS.
 */
import { z } from "zod";

/** Environments gantry knows; `sandbox` is the local emulated account. */
export const ENVIRONMENTS = ["sandbox", "dev", "staging", "prod"] as const;
/** One of {@link ENVIRONMENTS}. */
export type EnvironmentName = (typeof ENVIRONMENTS)[number];

/** The Pulumi project name, i.e. the namespace of the stack's own config keys. */
export const PROJECT_NAME = "platform";

const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}$/, "lowercase letters, digits and dashes, starting with a letter");

/** One ECS service of the environment. */
export const serviceConfigSchema = z.strictObject({
  name,
  containerPort: z.number().int().min(1).max(65535).default(8080),
  desiredCount: z.number().int().min(1).max(100).default(1),
  cpu: z.number().int().positive().default(256),
  memory: z.number().int().positive().default(512),
  healthCheckPath: z.string().startsWith("/").default("/health"),
});

/** Keys of the stack (namespace `platform:`). */
export const stackConfigSchema = z.strictObject({
  services: z.array(serviceConfigSchema).min(1),
  repositoryName: name.default("app"),
  database: z
    .strictObject({
      instanceClass: z.string().default("db.t4g.micro"),
      allocatedStorage: z.number().int().min(20).max(65536).default(20),
    })
    .default({ instanceClass: "db.t4g.micro", allocatedStorage: 20 }),
  alarms: z.array(name).default([]),
});

/** Keys of the orchestrator (namespace `gantry:`). */
export const gantryConfigSchema = z.strictObject({
  snapshot: z
    .strictObject({
      enabled: z.boolean().default(false),
      retention: z.number().int().min(0).max(100).default(5),
    })
    .default({ enabled: false, retention: 5 }),
  migration: z
    .strictObject({
      command: z.array(z.string().min(1)).min(1).optional(),
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
});

/** The validated, frozen configuration of one environment. */
export interface EnvironmentConfig {
  readonly env: EnvironmentName;
  readonly file: string;
  readonly region: string;
  readonly stack: z.infer<typeof stackConfigSchema>;
  readonly gantry: z.infer<typeof gantryConfigSchema>;
  /** Every key of the file as Pulumi stack config (structured values as JSON), applied before each run. */
  readonly pulumiConfig: Readonly<Record<string, string>>;
}
