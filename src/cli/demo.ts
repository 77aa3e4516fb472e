/**
 * `gantry demo` (npm run demo): the whole story on the sandbox — create the stack and print its
 * outputs, publish v1.0.0, v1.1.0 and v1.2.0, mark v1.2.0 faulty (health 500), deploy v1.0.0 and
 * v1.1.0 (healthy rolling updates), then v1.2.0, which fails its health gate and is rolled back to
 * v1.1.0 automatically; finally `status` and `history`. Exits 0 when the story ran as told.
 */
import type { Argv } from "yargs";
import { GantryError } from "../errors.ts";
import type { CliContext } from "./context.ts";
import { performDeploy } from "./deploy.ts";
import type { GlobalArgs } from "./index.ts";

const STORY = [
  { tag: "v1.0.0", expect: "succeeded" },
  { tag: "v1.1.0", expect: "succeeded" },
  { tag: "v1.2.0", expect: "rolled_back" },
] as const;

/** Register `demo`. */
export function demoCommand(ctx: CliContext) {
  return {
    command: "demo",
    describe:
      "Run the whole pipeline on the sandbox: two healthy deploys and one automatic, verified rollback",
    builder: (y: Argv<GlobalArgs>) => y,
    handler: async (argv: GlobalArgs) => {
      const reporter = ctx.reporter(argv);
      const started = Date.now();
      const { openEnvironment } = await import("../steps/environment.ts");
      const { SandboxControl } = await import("../sandbox/control.ts");
      const { stack, sandbox, config } = await openEnvironment("sandbox", ctx.paths, reporter);
      if (!sandbox) throw new GantryError("the sandbox did not start", { code: "SANDBOX_NOT_RUNNING" });
      reporter.emit({
        type: "info",
        message: `1/5 stack: creating/updating ${stack.name} on ${sandbox.endpoint}`,
      });
      const up = await stack.up((text) => {
        for (const line of text.split("\n")) if (line.trim()) reporter.emit({ type: "engine", line });
      });
      reporter.emit({
        type: "result",
        title: "sandbox stack outputs (EnvironmentOutputs)",
        data: up.outputs,
      });

      const control = new SandboxControl(sandbox.endpoint);
      await control.setSpeeds({ rolloutSeconds: 3, snapshotSeconds: 1, taskSeconds: 1 });
      const images = await control.publishImages(
        config.stack.repositoryName,
        STORY.map((s) => s.tag),
      );
      await control.clearFaults("v1.2.0");
      await control.addFault({ tag: "v1.2.0", kind: "health" });
      reporter.emit({
        type: "info",
        message: `2/5 images: ${images.map((i) => `${i.tag}=${i.digest.slice(0, 19)}…`).join(", ")}; v1.2.0 marked faulty (health 500)`,
      });

      const outcomes: string[] = [];
      for (const [i, step] of STORY.entries()) {
        reporter.emit({
          type: "info",
          message: `${String(3 + Math.min(i, 1))}/5 deploy ${step.tag} (expect ${step.expect})`,
        });
        const res = await performDeploy(
          ctx,
          { env: "sandbox", tag: step.tag, dryRun: false, skipSnapshot: false, skipMigrations: false },
          reporter,
        );
        outcomes.push(`${step.tag}: ${res?.record.status ?? "?"} (exit ${String(res?.exitCode ?? "?")})`);
        if (res?.record.status !== step.expect) {
          throw new GantryError(
            `demo: deploy of ${step.tag} ended ${res?.record.status ?? "?"}, expected ${step.expect}`,
            {
              code: "DEMO_UNEXPECTED",
              hint: "see the step lines above; gantry status --env sandbox",
            },
          );
        }
      }
      reporter.emit({ type: "info", message: `5/5 status and history: ${outcomes.join(" · ")}` });
      const { runCli } = await import("./index.ts");
      await runCli(["status", "--env", "sandbox", ...(argv.json ? ["--json"] : [])], ctx);
      await runCli(["history", "--env", "sandbox", "--limit", "5", ...(argv.json ? ["--json"] : [])], ctx);
      reporter.emit({
        type: "info",
        message: `demo done in ${((Date.now() - started) / 1000).toFixed(0)} s; the sandbox keeps running (npm run gantry -- sandbox stop)`,
      });
    },
  };
}
