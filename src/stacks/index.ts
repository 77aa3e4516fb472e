/**
 * The environment program for each stack. `sandbox` is built from dynamic resources in the
 * emulated account; dev/staging/prod are the @pulumi/aws program of src/stacks/aws, whose config is
 * checked here, before the engine starts, and whose (large) modules load only when it runs.
 */
import type { PulumiFn } from "@pulumi/pulumi/automation/index.js";
import type { EnvironmentConfig } from "../config/schema.ts";
import { GantryError } from "../errors.ts";
import { awsSettings } from "./aws/settings.ts";
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
  const settings = awsSettings(config);
  return async () => {
    const { awsProgram } = await import("./aws/program.ts");
    return awsProgram(settings)();
  };
}
