/**
 * Opens an environment's stack: loads and validates Pulumi.<env>.yaml, finds the Pulumi CLI,
 * and for `sandbox` starts the emulated account (if needed) and uses the local file backend.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { loadEnvironmentConfig } from "../config/load.ts";
import type { EnvironmentPaths } from "../config/runtime.ts";
import { type EnvironmentConfig, type EnvironmentName, PROJECT_NAME } from "../config/schema.ts";
import { ensurePulumiCli } from "../pulumi/cli.ts";
import { AutomationStack } from "../pulumi/stack.ts";
import type { Reporter } from "../reporting/reporter.ts";
import { SandboxControl } from "../sandbox/control.ts";
import { startSandbox } from "../sandbox/process.ts";
import { environmentProgram } from "../stacks/index.ts";
import type { SandboxTarget } from "../stacks/sandbox/program.ts";

/** The documented, sandbox-only passphrase of the sandbox stack's local state. */
export const SANDBOX_PASSPHRASE = "gantry-sandbox-only";

export type { EnvironmentPaths } from "../config/runtime.ts";

/** An opened environment: its config, its stack, and (sandbox only) the running account. */
export interface OpenedEnvironment {
  readonly config: EnvironmentConfig;
  readonly stack: AutomationStack;
  readonly sandbox?: SandboxTarget;
}

/** Open the stack of `env`, starting the sandbox first when `env` is `sandbox`. */
export async function openEnvironment(
  env: EnvironmentName,
  paths: EnvironmentPaths,
  reporter: Reporter,
  /** Already loaded by the caller; read from Pulumi.<env>.yaml otherwise. */
  loaded?: EnvironmentConfig,
): Promise<OpenedEnvironment> {
  const config = loaded ?? (await loadEnvironmentConfig(paths.configDir, env));
  const log = (message: string): void => {
    reporter.emit({ type: "progress", message });
  };
  const cli = await ensurePulumiCli({ toolsDir: paths.toolsDir, log });
  let sandbox: SandboxTarget | undefined;
  if (env === "sandbox") {
    const started = await startSandbox({ stateDir: paths.sandboxDir, toolsDir: paths.toolsDir, log });
    if (!started.reused) reporter.emit({ type: "info", message: `sandbox started on ${started.endpoint}` });
    const health = await new SandboxControl(started.endpoint).health();
    sandbox = { endpoint: started.endpoint, epoch: health.epoch };
  }
  if (env === "sandbox") await mkdir(path.join(paths.sandboxDir, "pulumi"), { recursive: true });
  const stack = await AutomationStack.open({
    stackName: env,
    // The sandbox's workspace lives with its state; real environments' under .gantry/ (git-ignored).
    workDir:
      env === "sandbox"
        ? path.join(paths.sandboxDir, "workspace")
        : path.join(paths.stateDir, "workspaces", env),
    projectName: PROJECT_NAME,
    config: config.pulumiConfig,
    program: environmentProgram(config, sandbox),
    cli,
    ...(env === "sandbox"
      ? { backendUrl: `file://${path.join(paths.sandboxDir, "pulumi")}`, passphrase: SANDBOX_PASSPHRASE }
      : {}),
  });
  return { config, stack, ...(sandbox ? { sandbox } : {}) };
}
