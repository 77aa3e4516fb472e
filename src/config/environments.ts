/**
 * The environments of a project: one per `Pulumi.<name>.yaml` in its config folder. Kept apart
 * from the schema (zod) and the loader (yaml) so that the command line can offer and check them
 * without loading either.
 */
import { readdirSync } from "node:fs";
import { ConfigError } from "../errors.ts";

/** An environment's name: lowercase letters, digits and dashes, at most 32 characters. */
export type EnvironmentName = string;

/**
 * The environment on the local emulated account by default (without `gantry:account`); any other
 * environment may live there too with `gantry:account: sandbox` (see `accountOf` in schema.ts).
 */
export const SANDBOX = "sandbox";

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const FILE = /^Pulumi\.([^.]+)\.yaml$/;

/** Whether `name` may name an environment (and so a Pulumi stack and AWS resources). */
export function isEnvironmentName(name: string): boolean {
  return NAME.test(name);
}

/**
 * The environments in `configDir`, sorted: every `Pulumi.<name>.yaml` whose name is valid. A
 * folder that cannot be read has none.
 */
export function environmentsIn(configDir: string): readonly EnvironmentName[] {
  let files: string[];
  try {
    files = readdirSync(configDir);
  } catch {
    return [];
  }
  return files
    .map((f) => FILE.exec(f)?.[1])
    .filter((name): name is string => name !== undefined && isEnvironmentName(name))
    .sort();
}

/** `value` if it is one of `known`; otherwise a usage-grade ConfigError listing them. */
export function parseEnvironmentName(value: string, known: readonly EnvironmentName[]): EnvironmentName {
  if (known.includes(value)) return value;
  throw new ConfigError(`unknown environment "${value}"`, {
    code: "UNKNOWN_ENV",
    hint: known.length
      ? `use one of: ${known.join(", ")} (one per Pulumi.<env>.yaml)`
      : "no Pulumi.<env>.yaml found in the config folder (GANTRY_CONFIG_DIR)",
  });
}
