/**
 * Secrets of the smoke gate and the hooks. The config file never holds them: a value written as
 * `{ fromEnv: "SMOKE_TOKEN" }` is read from gantry's own environment once, when a deploy starts
 * (src/config is the only reader of env vars), and the caller registers every value with the
 * secret masker before anything runs. Steps only look values up in the resolved map.
 */
import path from "node:path";
import { ConfigError, GantryError } from "../errors.ts";
import { MIN_SECRET_LENGTH } from "../reporting/mask.ts";
import type { CommandConfig, EnvironmentConfig, SecretRef } from "./schema.ts";

/** Environment variable name → value, for every `fromEnv` a deploy needs. */
export type ResolvedSecrets = Readonly<Record<string, string>>;

type Ref = readonly [key: string, value: string | SecretRef];

function commandRefs(at: string, command: CommandConfig | undefined): Ref[] {
  return Object.entries(command?.env ?? {}).map(([k, v]) => [`${at}.env.${k}`, v] as const);
}

/** Every secret-capable value a deploy of `config` uses, with its config key. */
function refsOf(config: EnvironmentConfig, skipSmoke: boolean): Ref[] {
  const { smoke, hooks } = config.gantry;
  const refs: Ref[] = [];
  for (const [name, hook] of Object.entries(hooks)) refs.push(...commandRefs(`gantry:hooks.${name}`, hook));
  if (smoke && !skipSmoke) {
    smoke.checks.forEach((check, i) => {
      for (const [h, v] of Object.entries(check.headers))
        refs.push([`gantry:smoke.checks.${String(i)}.headers.${h}`, v]);
    });
    refs.push(...commandRefs("gantry:smoke.command", smoke.command));
  }
  return refs;
}

/**
 * Read every `fromEnv` value the deploy needs (the smoke gate's only unless `skipSmoke`). An unset
 * or empty variable is an error naming the key (GitHub Actions passes a missing secret as ""), and
 * so is a value shorter than {@link MIN_SECRET_LENGTH}: the masker could not hide it in the output.
 */
export function resolveDeploySecrets(
  config: EnvironmentConfig,
  options: { readonly skipSmoke: boolean },
  env: NodeJS.ProcessEnv = process.env,
): ResolvedSecrets {
  const out: Record<string, string> = {};
  for (const [key, value] of refsOf(config, options.skipSmoke)) {
    if (typeof value === "string") continue;
    const found = env[value.fromEnv];
    if (!found) {
      throw new ConfigError(
        `${path.basename(config.file)}: ${key}: environment variable ${value.fromEnv} is not set`,
        {
          code: "SECRET_MISSING",
          hint: `set ${value.fromEnv} in gantry's environment (a CI secret)${key.startsWith("gantry:smoke") ? ", or deploy with --skip-smoke" : ""}`,
        },
      );
    }
    if (found.trim().length < MIN_SECRET_LENGTH) {
      throw new ConfigError(
        `${path.basename(config.file)}: ${key}: environment variable ${value.fromEnv} holds fewer than ${String(MIN_SECRET_LENGTH)} characters, too short to be masked in gantry's output`,
        {
          code: "SECRET_TOO_SHORT",
          hint: `set ${value.fromEnv} to the real secret (at least ${String(MIN_SECRET_LENGTH)} characters), not a placeholder`,
        },
      );
    }
    out[value.fromEnv] = found;
  }
  return Object.freeze(out);
}

/** The value of a plain-or-secret config value, from the resolved secrets. */
export function valueOf(value: string | SecretRef, secrets: ResolvedSecrets): string {
  if (typeof value === "string") return value;
  const found = secrets[value.fromEnv];
  if (found === undefined) {
    // resolveDeploySecrets resolves every reference before a deploy starts: this is a wiring bug.
    throw new GantryError(`secret ${value.fromEnv} was not resolved`, {
      code: "SECRET_UNRESOLVED",
      hint: "resolve the deploy's secrets with resolveDeploySecrets before running it",
    });
  }
  return value.prefix + found;
}
