/**
 * Process-level settings from environment variables, read once at the edge (src/main.ts).
 *
 * - `GANTRY_SANDBOX_DIR`: where the sandbox keeps its pid file, log, workspace and Pulumi state
 *   (default `<project>/.sandbox`). Tests and parallel checkouts point it elsewhere.
 * - `GANTRY_STATE_DIR`: gantry's local working state for real environments — Automation API
 *   workspaces and local journal copies (default `<project>/.gantry`).
 * - `GANTRY_CONFIG_DIR`: where `Pulumi.<env>.yaml` files are read from (default: the project folder).
 *   Tests use it to deploy with their own config without touching the committed files.
 * - `GITHUB_ACTOR`, else `USER`: who deploys (recorded in the lock and the ledger).
 */
import os from "node:os";
import path from "node:path";
import { defaultSandboxDir, projectRoot, toolsDir } from "../tools/paths.ts";

/** Folders gantry works in. */
export interface EnvironmentPaths {
  readonly projectDir: string;
  /** Folder of the `Pulumi.<env>.yaml` files. */
  readonly configDir: string;
  /** Local working state of real environments (workspaces, journal copies). */
  readonly stateDir: string;
  readonly toolsDir: string;
  readonly sandboxDir: string;
}

/** Who runs gantry and where: recorded in the lock and the ledger. */
export interface Runtime {
  readonly actor: string;
  readonly host: string;
  readonly pid: number;
}

/** This process's {@link Runtime}. */
export function processRuntime(env: NodeJS.ProcessEnv = process.env): Runtime {
  return Object.freeze({ actor: runtimeActor(env), host: os.hostname(), pid: process.pid });
}

/** Who runs gantry, for the lock and the ledger. */
export function runtimeActor(env: NodeJS.ProcessEnv = process.env): string {
  return env.GITHUB_ACTOR ?? env.USER ?? env.USERNAME ?? "unknown";
}

/** The folders gantry works in, given the process environment. */
export function runtimePaths(env: NodeJS.ProcessEnv = process.env): EnvironmentPaths {
  const sandboxDir = env.GANTRY_SANDBOX_DIR ? path.resolve(env.GANTRY_SANDBOX_DIR) : defaultSandboxDir;
  const configDir = env.GANTRY_CONFIG_DIR ? path.resolve(env.GANTRY_CONFIG_DIR) : projectRoot;
  const stateDir = env.GANTRY_STATE_DIR
    ? path.resolve(env.GANTRY_STATE_DIR)
    : path.join(projectRoot, ".gantry");
  return Object.freeze({ projectDir: projectRoot, configDir, stateDir, toolsDir, sandboxDir });
}
