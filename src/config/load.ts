/**
 * Loader of Pulumi.<env>.yaml: the only reader of those files. Splits the flat Pulumi config map
 * into namespaces, validates each with zod, and reports the first problem naming the file, the
 * exact key and what is allowed.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors.ts";
import type { EnvironmentName } from "./environments.ts";
import { type EnvironmentConfig, gantryConfigSchema, PROJECT_NAME, stackConfigSchema } from "./schema.ts";

/** Path of an environment's config file in a project folder. */
export function configFile(projectDir: string, env: EnvironmentName): string {
  return path.join(projectDir, `Pulumi.${env}.yaml`);
}

function describeIssue(file: string, namespace: string, issue: z.core.$ZodIssue): ConfigError {
  const [top, ...rest] = issue.path.map(String);
  const key = `${namespace}:${top ?? ""}${rest.length ? `.${rest.join(".")}` : ""}`;
  return new ConfigError(`${path.basename(file)}: ${key}: ${issue.message}`, {
    hint: `fix ${key} in ${file} (see README "Configuration reference")`,
  });
}

/** Validate an already-parsed config document (the object under `config:`); the result is deeply frozen. */
export function validateConfig(
  env: EnvironmentName,
  file: string,
  config: Record<string, unknown>,
): EnvironmentConfig {
  const namespaces: Record<string, Record<string, unknown>> = { [PROJECT_NAME]: {}, gantry: {}, aws: {} };
  for (const [fullKey, value] of Object.entries(config)) {
    const [ns, key] = fullKey.includes(":") ? fullKey.split(":", 2) : [PROJECT_NAME, fullKey];
    const bucket = namespaces[ns ?? ""];
    if (!bucket || !key) {
      throw new ConfigError(`${path.basename(file)}: ${fullKey}: unknown namespace`, {
        hint: `keys must start with ${PROJECT_NAME}:, gantry: or aws:`,
      });
    }
    bucket[key] = value;
  }
  const region = namespaces.aws?.region;
  if (typeof region !== "string" || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new ConfigError(`${path.basename(file)}: aws:region: required, e.g. us-east-1`, {
      hint: `set aws:region in ${file}`,
    });
  }
  const stack = stackConfigSchema.safeParse(namespaces[PROJECT_NAME]);
  if (!stack.success) throw describeIssue(file, PROJECT_NAME, stack.error.issues[0] as z.core.$ZodIssue);
  const gantry = gantryConfigSchema.safeParse(namespaces.gantry);
  if (!gantry.success) throw describeIssue(file, "gantry", gantry.error.issues[0] as z.core.$ZodIssue);
  // Smoke checks name services of the stack (the base of their relative paths).
  const services = stack.data.services.map((svc) => svc.name);
  const smoke = gantry.data.smoke;
  const named: [string | undefined, (string | number)[]][] = [
    [smoke?.service, ["smoke", "service"]],
    [gantry.data.migration.service, ["migration", "service"]],
    ...(smoke?.checks ?? []).map((c, i): [string | undefined, (string | number)[]] => [
      c.service,
      ["smoke", "checks", i, "service"],
    ]),
  ];
  for (const [service, at] of named) {
    if (service !== undefined && !services.includes(service)) {
      throw describeIssue(file, "gantry", {
        code: "custom",
        path: at,
        message: `"${service}" is not one of ${PROJECT_NAME}:services (${services.join(", ")})`,
        input: service,
      });
    }
  }
  const pulumiConfig = Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  return deepFrozen({ env, file, region, stack: stack.data, gantry: gantry.data, pulumiConfig });
}

/**
 * `value` with every object and array in it frozen, all the way down: the config is parsed once and
 * nothing after that can change it (a write throws in strict mode, which ES modules always are).
 */
function deepFrozen<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFrozen(inner);
    Object.freeze(value);
  }
  return value;
}

/** Read and validate Pulumi.<env>.yaml from `projectDir`. */
export async function loadEnvironmentConfig(
  projectDir: string,
  env: EnvironmentName,
): Promise<EnvironmentConfig> {
  const file = configFile(projectDir, env);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ConfigError(`${path.basename(file)} not found`, {
      code: "CONFIG_MISSING",
      hint: `create ${file} (copy Pulumi.sandbox.yaml as a start)`,
    });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError(
      `${path.basename(file)} is not valid YAML: ${(err as Error).message.split("\n")[0] ?? ""}`,
      {
        cause: err,
      },
    );
  }
  const config = (doc as { config?: unknown } | null)?.config;
  if (typeof config !== "object" || config === null) {
    throw new ConfigError(`${path.basename(file)}: no top-level "config:" map`, {
      hint: `see Pulumi.sandbox.yaml`,
    });
  }
  return validateConfig(env, file, config as Record<string, unknown>);
}
