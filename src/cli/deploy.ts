/** `gantry deploy` (`npm run orchestrate`): the release pipeline. */
import type { Argv } from "yargs";
import { parseEnvironmentName } from "../config/load.ts";
import { ENVIRONMENTS } from "../config/schema.ts";
import { parseTag } from "../config/tag.ts";
import { GantryError } from "../errors.ts";
import type { CliContext } from "./context.ts";
import type { GlobalArgs } from "./index.ts";

/** Register `deploy`. Its steps (snapshot → migrate → release → gates → rollback) are issue #3. */
export function deployCommand(_ctx: CliContext) {
  return {
    command: "deploy",
    describe: "Deploy an image tag to an environment (npm run orchestrate -- --env E --tag T)",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .option("env", {
          type: "string",
          choices: ENVIRONMENTS,
          demandOption: true,
          describe: "target environment",
        })
        .option("tag", { type: "string", demandOption: true, describe: "image tag to deploy, e.g. v1.2.3" }),
    handler: (argv: GlobalArgs & { env: string; tag: string }) => {
      const env = parseEnvironmentName(argv.env);
      const tag = parseTag(argv.tag);
      throw new GantryError(
        `deploy of ${tag} to ${env} is not available in this version: nothing was changed`,
        {
          code: "DEPLOY_NOT_IMPLEMENTED",
          source: "user",
          hint: "the deploy pipeline is issue #3; today: gantry stack up --env sandbox, gantry sandbox --help",
        },
      );
    },
  };
}
