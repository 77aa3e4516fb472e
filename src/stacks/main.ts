/**
 * Entry point of the Pulumi project for hand runs (`pulumi preview -s dev`, `pulumi up -s bootstrap`):
 * Pulumi.yaml's `main`. Loads the stack's Pulumi.<env>.yaml through src/config, exactly as gantry
 * does, and runs the same program gantry runs inline. Node ≥ 22.18 runs it directly (type stripping).
 */
import * as pulumi from "@pulumi/pulumi";
import { environmentsIn, parseEnvironmentName } from "../config/environments.ts";
import { loadEnvironmentConfig } from "../config/load.ts";
import { accountOf, type EnvironmentConfig } from "../config/schema.ts";
import { GantryError } from "../errors.ts";
import { projectRoot } from "../tools/paths.ts";
import { BOOTSTRAP_STACK, bootstrapProgram, bootstrapSettings } from "./aws/bootstrap.ts";
import { environmentProgram } from "./index.ts";

/** The AWS environments of the project: every Pulumi.<env>.yaml but those on the sandbox account. */
async function presentAwsConfigs(): Promise<EnvironmentConfig[]> {
  const configs = await Promise.all(
    environmentsIn(projectRoot).map((env) => loadEnvironmentConfig(projectRoot, env)),
  );
  return configs.filter((config) => accountOf(config) === "aws");
}

/** The program of the selected stack; its result is the stack's outputs. */
export default async function main(): Promise<unknown> {
  const stack = pulumi.getStack();
  if (stack === BOOTSTRAP_STACK) return bootstrapProgram(bootstrapSettings(await presentAwsConfigs()))();
  const env = parseEnvironmentName(stack, environmentsIn(projectRoot));
  const config = await loadEnvironmentConfig(projectRoot, env);
  if (accountOf(config) === "sandbox") {
    throw new GantryError(`the ${env} stack runs only through gantry (it needs the running sandbox)`, {
      code: "SANDBOX_BY_HAND",
      source: "user",
      hint: `npm run gantry -- stack preview --env ${env}`,
    });
  }
  return environmentProgram(config)();
}
