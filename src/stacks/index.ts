/**
 * The environment program for each stack. An environment on the sandbox account (`gantry:account:
 * sandbox`; by default the one named sandbox) is built from dynamic resources in the emulated
 * account; every other one is the @pulumi/aws program of src/stacks/aws, whose config is checked
 * here, before the engine starts, and whose (large) modules load only when it runs.
 */
import type { PulumiFn } from "@pulumi/pulumi/automation/index.js";
import { accountOf, type EnvironmentConfig } from "../config/schema.ts";
import { GantryError } from "../errors.ts";
import { awsSettings } from "./aws/settings.ts";
import { sandboxProgram, type SandboxTarget } from "./sandbox/program.ts";

/** The inline program of an environment. */
export function environmentProgram(config: EnvironmentConfig, sandbox?: SandboxTarget): PulumiFn {
  if (accountOf(config) === "sandbox") {
    if (!sandbox) {
      throw new GantryError(`the ${config.env} stack needs a running sandbox`, {
        code: "SANDBOX_NOT_RUNNING",
        hint: "gantry sandbox start",
      });
    }
    return sandboxProgram(config, sandbox);
  }
  const settings = awsSettings(config);
  return async () => {
    const { awsProgram } = await import("./aws/program.ts");
    return awsProgram(settings)();
  };
}
