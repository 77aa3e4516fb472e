/**
 * The command line: parses argv with yargs, calls the app, maps errors to exit codes.
 * Heavy modules (Pulumi, AWS SDK) are loaded inside handlers so `--help` starts fast.
 */
import yargs, { type Argv } from "yargs";
import { ConfigError, GantryError, oneLine, UsageError } from "../errors.ts";
import type { CliContext } from "./context.ts";

/** Flags every command accepts. */
export interface GlobalArgs {
  json: boolean;
  verbose: boolean;
}

/** Exit codes (DESIGN.md "Contracts"). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ConfigError && err.code === "UNKNOWN_ENV") return EXIT.usage;
  return EXIT.failed;
}

/** Print an error as one line plus its hint, on stderr, with every registered secret masked. */
export function printError(
  err: unknown,
  verbose: boolean,
  redact: (text: string) => string = (t) => t,
): void {
  const write = (text: string): void => {
    process.stderr.write(redact(text));
  };
  write(`gantry: error: ${oneLine(err)}\n`);
  if (err instanceof GantryError && err.hint) write(`  hint: ${err.hint}\n`);
  if (verbose && err instanceof Error && err.cause !== undefined) write(`  cause: ${oneLine(err.cause)}\n`);
  if (!(err instanceof GantryError)) write(`  hint: rerun with --verbose; this is a bug if it repeats\n`);
}

/** Run the CLI; resolves to the process exit code. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const { sandboxCommand } = await import("./sandbox.ts");
  const { stackCommand } = await import("./stack.ts");
  const { demoCommand } = await import("./demo.ts");
  const { deployCommand } = await import("./deploy.ts");
  const { historyCommand, statusCommand, unlockCommand } = await import("./operate.ts");
  const { rollbackCommand } = await import("./rollback.ts");
  const parser: Argv<GlobalArgs> = yargs([...argv])
    .scriptName("gantry")
    .usage("gantry <command> [options]\n\nDeploy orchestrator for AWS ECS Fargate + RDS, driven by Pulumi.")
    .option("json", {
      type: "boolean",
      default: false,
      global: true,
      describe: "machine-readable output on stdout",
    })
    .option("verbose", {
      type: "boolean",
      default: false,
      global: true,
      describe: "show engine output and causes",
    })
    .command(deployCommand(ctx))
    .command((await import("./preview.ts")).previewCommand(ctx))
    .command(rollbackCommand(ctx))
    .command(statusCommand(ctx))
    .command(historyCommand(ctx))
    .command(unlockCommand(ctx))
    .command(stackCommand(ctx))
    .command(sandboxCommand(ctx))
    .command(demoCommand(ctx))
    .demandCommand(1, "name a command; see gantry --help")
    .strict()
    .recommendCommands()
    .exitProcess(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue(
      "Exit codes: 0 ok · 1 failed, nothing changed · 2 usage error · 3 rolled back and verified · 4 rollback not verified · 5 locked · 130 interrupted. Docs: README.md",
    )
    .fail((msg, err) => {
      // yargs passes no error object for its own validation failures, whatever its typings say.
      throw (err as Error | undefined) ?? new UsageError(msg || "invalid command line", "see gantry --help");
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    printError(err, argv.includes("--verbose"), (text) => ctx.masker.redact(text));
    return exitCodeFor(err);
  }
  return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
}
