/**
 * Secrets of the smoke gate, the hooks and the registries. The config file never holds them: a
 * value written as `{ fromEnv: "SMOKE_TOKEN" }` is read from gantry's own environment once, when a
 * deploy starts (src/config is the only reader of env vars), and the caller registers every value
 * with the secret masker before anything runs. Steps only look values up in the resolved map.
 * Registry credentials are read when a registry asks for them (by the image resolver, in preview
 * and status too), and registered with the masker then.
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
    out[value.fromEnv] = readSecret(
      config,
      key,
      value,
      env,
      key.startsWith("gantry:smoke") ? ", or deploy with --skip-smoke" : "",
    );
  }
  return Object.freeze(out);
}

/**
 * The value of the environment variable a secret reference names. An unset or empty variable is an
 * error naming the key (GitHub Actions passes a missing secret as ""), and so is a value shorter
 * than {@link MIN_SECRET_LENGTH}: the masker could not hide it in the output.
 */
function readSecret(
  config: EnvironmentConfig,
  key: string,
  ref: SecretRef,
  env: NodeJS.ProcessEnv,
  otherFix = "",
): string {
  const found = env[ref.fromEnv];
  if (!found) {
    throw new ConfigError(
      `${path.basename(config.file)}: ${key}: environment variable ${ref.fromEnv} is not set`,
      {
        code: "SECRET_MISSING",
        hint: `set ${ref.fromEnv} in gantry's environment (a CI secret)${otherFix}`,
      },
    );
  }
  if (found.trim().length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      `${path.basename(config.file)}: ${key}: environment variable ${ref.fromEnv} holds fewer than ${String(MIN_SECRET_LENGTH)} characters, too short to be masked in gantry's output`,
      {
        code: "SECRET_TOO_SHORT",
        hint: `set ${ref.fromEnv} to the real secret (at least ${String(MIN_SECRET_LENGTH)} characters), not a placeholder`,
      },
    );
  }
  return found;
}

/** The credentials gantry resolves tags in a registry with (`gantry:registries."<host>"`). */
export interface ResolvedRegistryCredentials {
  readonly username?: string;
  readonly password?: string;
  /** The values read from the environment: the caller registers them with the secret masker. */
  readonly secrets: readonly string[];
}

/**
 * The credentials configured for `registry` (a host as image names write it), read from gantry's
 * environment when a registry asks for them; undefined when the config has none. A `fromEnv`
 * value fails as in {@link resolveDeploySecrets}, naming the key, e.g.
 * `gantry:registries."ghcr.io".password`.
 */
export function registryCredentials(
  config: EnvironmentConfig,
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedRegistryCredentials | undefined {
  const entry = config.gantry.registries[registry];
  if (!entry) return undefined;
  const secrets: string[] = [];
  const read = (
    field: "username" | "password",
    value: string | SecretRef | undefined,
  ): string | undefined => {
    if (value === undefined || typeof value === "string") return value;
    const found = readSecret(config, `gantry:registries."${registry}".${field}`, value, env);
    secrets.push(found);
    return value.prefix + found;
  };
  const username = read("username", entry.username);
  const password = read("password", entry.password);
  return {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    secrets,
  };
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
