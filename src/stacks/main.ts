/**
 * Entry point of the Pulumi project for hand runs (`pulumi preview -s dev`, `pulumi up -s bootstrap`):
 * Pulumi.yaml's `main`. Loads the stack's Pulumi.<env>.yaml through src/config, exactly as gantry
 * does, and runs the same program gantry runs inline. Node ≥ 22.18 runs it directly (type stripping).
 */
import * as pulumi from "@pulumi/pulumi";
import { environmentsIn, parseEnvironmentName, SANDBOX } from "../config/environments.ts";
import { loadEnvironmentConfig } from "../config/load.ts";
import type { EnvironmentConfig } from "../config/schema.ts";
import { GantryError } from "../errors.ts";
import { projectRoot } from "../tools/paths.ts";
import { BOOTSTRAP_STACK, bootstrapProgram, bootstrapSettings } from "./aws/bootstrap.ts";
import { environmentProgram } from "./index.ts";

/** The AWS environments of the project: every Pulumi.<env>.yaml but the sandbox's. */
async function presentAwsConfigs(): Promise<EnvironmentConfig[]> {
  const envs = environmentsIn(projectRoot).filter((env) => env !== SANDBOX);
  return Promise.all(envs.map((env) => loadEnvironmentConfig(projectRoot, env)));
}

/** The program of the selected stack; its result is the stack's outputs. */
export default async function main(): Promise<unknown> {
  const stack = pulumi.getStack();
  if (stack === BOOTSTRAP_STACK) return bootstrapProgram(bootstrapSettings(await presentAwsConfigs()))();
  const env = parseEnvironmentName(stack, environmentsIn(projectRoot));
  if (env === SANDBOX) {
    throw new GantryError("the sandbox stack runs only through gantry (it needs the running sandbox)", {
      code: "SANDBOX_BY_HAND",
      source: "user",
      hint: "npm run gantry -- stack preview --env sandbox",
    });
  }
  return environmentProgram(await loadEnvironmentConfig(projectRoot, env))();
}
