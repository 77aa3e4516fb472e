/**
 * The environment program for each stack. `sandbox` is built from dynamic resources in the
 * emulated account; dev/staging/prod are the @pulumi/aws program of issue #4.
 */
import type { PulumiFn } from "@pulumi/pulumi/automation/index.js";
import type { EnvironmentConfig } from "../config/schema.ts";
import { GantryError } from "../errors.ts";
import { sandboxProgram, type SandboxTarget } from "./sandbox/program.ts";

/** The inline program of an environment. */
export function environmentProgram(config: EnvironmentConfig, sandbox?: SandboxTarget): PulumiFn {
  if (config.env === "sandbox") {
    if (!sandbox) {
      throw new GantryError("the sandbox stack needs a running sandbox", {
        code: "SANDBOX_NOT_RUNNING",
        hint: "gantry sandbox start",
      });
    }
    return sandboxProgram(config, sandbox);
  }
  throw new GantryError(`the AWS stack for ${config.env} is not available in this version of gantry`, {
    code: "AWS_STACK_NOT_IMPLEMENTED",
    source: "user",
    hint: "use --env sandbox; the dev/staging/prod program is tracked in issue #4",
  });
}
