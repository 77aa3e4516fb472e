/**
 * The environments gantry knows, kept apart from the schema (zod) and the loader (yaml) so that
 * the command line can offer and check them without loading either.
 */
import { ConfigError } from "../errors.ts";

/** Environments gantry knows; `sandbox` is the local emulated account. */
export const ENVIRONMENTS = ["sandbox", "dev", "staging", "prod"] as const;
/** One of {@link ENVIRONMENTS}. */
export type EnvironmentName = (typeof ENVIRONMENTS)[number];

/** Narrow a string to an {@link EnvironmentName} or throw a usage-grade ConfigError. */
export function parseEnvironmentName(value: string): EnvironmentName {
  if ((ENVIRONMENTS as readonly string[]).includes(value)) return value as EnvironmentName;
  throw new ConfigError(`unknown environment "${value}"`, {
    code: "UNKNOWN_ENV",
    hint: `use one of: ${ENVIRONMENTS.join(", ")}`,
  });
}
