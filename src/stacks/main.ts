/**
 * Entry point of the Pulumi project for hand runs (`pulumi preview -s dev`, `pulumi up -s bootstrap`):
 * Pulumi.yaml's `main`. Loads the stack's Pulumi.<env>.yaml through src/config, exactly as gantry
 * does, and runs the same program gantry runs inline. Node ≥ 22.18 runs it directly (type stripping).
 */
import * as pulumi from "@pulumi/pulumi";
import { ENVIRONMENTS, parseEnvironmentName } from "../config/environments.ts";
import { configFile, loadEnvironmentConfig } from "../config/load.ts";
import type { EnvironmentConfig } from "../config/schema.ts";
import { GantryError } from "../errors.ts";
import { projectRoot } from "../tools/paths.ts";
import { access } from "node:fs/promises";
import { BOOTSTRAP_STACK, bootstrapProgram, bootstrapSettings } from "./aws/bootstrap.ts";
import { environmentProgram } from "./index.ts";

/** The AWS environments whose config file exists in the project. */
async function presentAwsConfigs(): Promise<EnvironmentConfig[]> {
  const envs = ENVIRONMENTS.filter((env) => env !== "sandbox");
  const present = await Promise.all(
    envs.map((env) =>
      access(configFile(projectRoot, env)).then(
        () => env,
        () => undefined,
      ),
    ),
  );
  return Promise.all(
    present.filter((env) => env !== undefined).map((env) => loadEnvironmentConfig(projectRoot, env)),
  );
}

/** The program of the selected stack; its result is the stack's outputs. */
export default async function main(): Promise<unknown> {
  const stack = pulumi.getStack();
  if (stack === BOOTSTRAP_STACK) return bootstrapProgram(bootstrapSettings(await presentAwsConfigs()))();
  const env = parseEnvironmentName(stack);
  if (env === "sandbox") {
    throw new GantryError("the sandbox stack runs only through gantry (it needs the running sandbox)", {
      code: "SANDBOX_BY_HAND",
      source: "user",
      hint: "npm run gantry -- stack preview --env sandbox",
    });
  }
  return environmentProgram(await loadEnvironmentConfig(projectRoot, env))();
}
