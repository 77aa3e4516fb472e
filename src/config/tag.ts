import { UsageError } from "../errors.ts";

/** Docker/OCI tag syntax: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Validate an image tag given on the command line. */
export function parseTag(value: string): string {
  if (!TAG.test(value)) {
    throw new UsageError(
      `invalid image tag "${value}"`,
      "a tag is 1-128 characters of letters, digits, '_', '.', '-', not starting with '.' or '-' (e.g. v1.2.3)",
    );
  }
  return value;
}
