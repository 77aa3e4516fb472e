/**
 * `gantry demo` (npm run demo): the whole story on the sandbox, for an app of two services with
 * their own images (api and web) — create the stack and print its outputs, publish v1.0.0, v1.1.0
 * and v1.2.0 of both images, mark web's v1.2.0 faulty (health 500; api's v1.2.0 is fine), deploy
 * v1.0.0 and v1.1.0 (healthy rolling updates), then v1.2.0: web fails its health gate and both
 * services are rolled back to v1.1.0 and verified, automatically; finally `status` and `history`.
 * Exits 0 when the story ran as told.
 */
import { serviceImageName } from "../config/image.ts";
import { EXIT, GantryError } from "../errors.ts";
import { SandboxControl } from "../sandbox/control.ts";
import type { AppContext, Outcome } from "./context.ts";
import { deploy } from "./deploy.ts";
import { openEnvironment } from "./environment.ts";
import { history } from "./history.ts";
import { engineOutput } from "./stack.ts";
import { status } from "./status.ts";

const STORY = [
  { tag: "v1.0.0", expect: "succeeded" },
  { tag: "v1.1.0", expect: "succeeded" },
  { tag: "v1.2.0", expect: "rolled_back" },
] as const;

/** Tell the story; a deploy that ends otherwise than told fails the demo (exit 1). */
export async function demo(app: AppContext): Promise<Outcome> {
  const { reporter } = app;
  const started = Date.now();
  const chapters = 3 + STORY.length;
  const chapter = (n: number, message: string): void => {
    reporter.emit({ type: "info", message: `${String(n)}/${String(chapters)} ${message}` });
  };
  const { stack, sandbox, config } = await openEnvironment(app, "sandbox");
  if (!sandbox) throw new GantryError("the sandbox did not start", { code: "SANDBOX_NOT_RUNNING" });
  chapter(1, `stack: creating/updating ${stack.name} on ${sandbox.endpoint}`);
  const up = await stack.up({ onOutput: engineOutput(reporter) });
  reporter.emit({ type: "result", title: "sandbox stack outputs (EnvironmentOutputs)", data: up.outputs });

  const control = new SandboxControl(sandbox.endpoint);
  await control.setSpeeds({ rolloutSeconds: 3, snapshotSeconds: 1, taskSeconds: 1 });
  // Each service's own image (Pulumi.sandbox.yaml: api and web), every tag of the story.
  const repositories = [...new Set(config.stack.services.map((s) => serviceImageName(config.stack, s)))];
  const published: string[] = [];
  for (const repository of repositories) {
    const images = await control.publishImages(
      repository,
      STORY.map((s) => s.tag),
    );
    published.push(`${repository} ${images.map((i) => `${i.tag}=${i.digest.slice(7, 19)}`).join(" ")}`);
  }
  // Only the last service's image is faulty in v1.2.0: the release still rolls back as one unit.
  const faulty = repositories.at(-1) ?? config.stack.repositoryName;
  await control.clearFaults("v1.2.0");
  await control.addFault({ tag: "v1.2.0", kind: "health", repository: faulty });
  chapter(2, `images: ${published.join("; ")}; ${faulty}:v1.2.0 marked faulty (health 500)`);

  const outcomes: string[] = [];
  for (const [i, step] of STORY.entries()) {
    chapter(3 + i, `deploy ${step.tag} (expect ${step.expect})`);
    const res = await deploy(app, {
      env: "sandbox",
      tag: step.tag,
      dryRun: false,
      skipSnapshot: false,
      skipMigrations: false,
      skipSmoke: false,
    });
    const ended = "record" in res ? res.record.status : "?";
    outcomes.push(`${step.tag}: ${ended} (exit ${String(res.exitCode)})`);
    if ("record" in res && res.record.services && res.record.services.length > 1) {
      reporter.emit({
        type: "info",
        message: `${step.tag}: ${res.record.services.map((s) => `${s.name} ${s.outcome} (runs ${s.current?.tag ?? "?"})`).join(", ")}`,
      });
    }
    if (ended !== step.expect) {
      throw new GantryError(`demo: deploy of ${step.tag} ended ${ended}, expected ${step.expect}`, {
        code: "DEMO_UNEXPECTED",
        hint: "see the step lines above; gantry status --env sandbox",
      });
    }
  }
  chapter(chapters, `status and history: ${outcomes.join(" · ")}`);
  await status(app, { env: "sandbox" });
  await history(app, { env: "sandbox", limit: 5 });
  reporter.emit({
    type: "info",
    message: `demo done in ${((Date.now() - started) / 1000).toFixed(0)} s; the sandbox keeps running (npm run gantry -- sandbox stop)`,
  });
  return { exitCode: EXIT.ok };
}
