/**
 * The command runner of hooks and the smoke command, with real child processes (/bin/sh and this
 * Node): output lines through the reporter, the tail kept, secrets masked, GANTRY_* environment,
 * exit codes, timeouts that kill what the command started, interruption.
 */
import { describe, expect, it } from "vitest";
import { commandConfigSchema } from "../../../src/config/schema.ts";
import { SecretMasker } from "../../../src/reporting/mask.ts";
import { commandText, runCommand, TAIL_LINES } from "../../../src/steps/command.ts";
import { RecordingReporter } from "../../fakes/context.ts";

const cmd = (input: unknown) => commandConfigSchema.parse(input);

function context(secrets: Record<string, string> = {}, masker?: SecretMasker) {
  return { reporter: new RecordingReporter(), secrets, ...(masker ? { masker } : {}) };
}

const GANTRY = {
  GANTRY_ENV: "dev",
  GANTRY_TAG: "v2",
  GANTRY_DEPLOYMENT_ID: "d-1",
  BASE_URL: "http://127.0.0.1:9",
};

describe("runCommand", () => {
  it("GIVEN a shell command writing to stdout and stderr WHEN run THEN every line is reported as 'name | line', kept in the tail, with the GANTRY_* and configured environment", async () => {
    const ctx = context();
    const { record, failure } = await runCommand(
      ctx,
      "smoke",
      cmd({
        command:
          'echo "env=$GANTRY_ENV tag=$GANTRY_TAG id=$GANTRY_DEPLOYMENT_ID base=$BASE_URL"; echo "suite=$SUITE" >&2',
        env: { SUITE: "full" },
      }),
      GANTRY,
    );
    expect(failure).toBeUndefined();
    expect(record).toMatchObject({ name: "smoke", status: "succeeded", exitCode: 0, timedOut: false });
    expect([...record.tail].sort()).toEqual(["env=dev tag=v2 id=d-1 base=http://127.0.0.1:9", "suite=full"]);
    expect(ctx.reporter.messages("info")).toEqual(
      expect.arrayContaining(["smoke | env=dev tag=v2 id=d-1 base=http://127.0.0.1:9", "smoke | suite=full"]),
    );
    expect(ctx.reporter.messages("progress")[0]).toMatch(/^smoke: echo /);
  });

  it(`GIVEN more than ${String(TAIL_LINES)} lines THEN the tail keeps the last ${String(TAIL_LINES)}, and every line was reported`, async () => {
    const ctx = context();
    const { record } = await runCommand(
      ctx,
      "suite",
      cmd({ command: "i=1; while [ $i -le 100 ]; do echo line $i; i=$((i+1)); done" }),
      {},
    );
    expect(record.tail).toHaveLength(TAIL_LINES);
    expect(record.tail[0]).toBe(`line ${String(100 - TAIL_LINES + 1)}`);
    expect(record.tail.at(-1)).toBe("line 100");
    expect(ctx.reporter.messages("info").filter((m) => m.startsWith("suite | line "))).toHaveLength(100);
  });

  it("GIVEN a command that exits 3 THEN failed, exit code 3, and the failure names the command, the code and the last lines", async () => {
    const { record, failure } = await runCommand(
      context(),
      "preDeploy",
      cmd({ command: ["/bin/sh", "-c", "echo checking; echo 'changelog missing' >&2; exit 3"] }),
      {},
    );
    expect(record).toMatchObject({ status: "failed", exitCode: 3, timedOut: false });
    expect(failure).toBe(
      `preDeploy "/bin/sh -c "echo checking; echo 'changelog missing' >&2; exit 3"" exited with code 3: checking | changelog missing`,
    );
  });

  it("GIVEN a secret in the command's environment WHEN the command prints it raw, base64 and inside JSON THEN no form of it reaches the reporter, the tail or the failure", async () => {
    const secret = "canary-Zq8-unit-7f3a9c";
    const masker = new SecretMasker();
    masker.add(secret);
    for (const ctx of [context({ API_TOKEN: secret }, masker), context({ API_TOKEN: secret })]) {
      const { record, failure } = await runCommand(
        ctx,
        "onFailure",
        cmd({
          command:
            'echo "token=$TOKEN"; printf %s "$TOKEN" | base64; echo "{\\"token\\":\\"$TOKEN\\"}" >&2; exit 1',
          env: { TOKEN: { fromEnv: "API_TOKEN" } },
        }),
        {},
      );
      const everything = JSON.stringify([ctx.reporter.events, record, failure]);
      expect(everything).toContain("token=***");
      for (const form of [
        secret,
        Buffer.from(secret).toString("base64"),
        Buffer.from(secret).toString("base64").replace(/=+$/, ""),
      ]) {
        expect(everything).not.toContain(form);
      }
    }
  });

  it("GIVEN a command that outlives its timeout and started a child of its own THEN both are killed at the timeout, and the run says so", async () => {
    const started = Date.now();
    // The backgrounded sleep keeps stdout open: the run only ends if the whole group is killed.
    const { record, failure } = await runCommand(
      context(),
      "smoke",
      cmd({ command: "echo started; sleep 30 & sleep 30; wait", timeoutSeconds: 1 }),
      {},
    );
    expect(Date.now() - started).toBeLessThan(4000);
    expect(record).toMatchObject({ status: "failed", exitCode: null, timedOut: true, tail: ["started"] });
    expect(failure).toBe('smoke "echo started; sleep 30 & sleep 30; wait" timed out after 1 s: started');
  });

  it("GIVEN the deploy is interrupted WHEN a command runs THEN it is stopped at once and reported interrupted", async () => {
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 200);
    const started = Date.now();
    const { record, failure } = await runCommand(
      context(),
      "postDeploy",
      cmd({ command: "sleep 30" }),
      {},
      controller.signal,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(record).toMatchObject({ status: "failed", exitCode: null });
    expect(failure).toBe('postDeploy "sleep 30" was interrupted');
  });

  it("GIVEN an argv command whose program does not exist THEN it could not start, with the reason", async () => {
    const { record, failure } = await runCommand(
      context(),
      "preDeploy",
      cmd({ command: ["/nonexistent/gantry-hook", "x"] }),
      {},
    );
    expect(record).toMatchObject({ status: "failed", exitCode: null, timedOut: false });
    expect(failure).toMatch(/^preDeploy "\/nonexistent\/gantry-hook x" could not start: .*ENOENT/);
  });

  it("GIVEN an argv command THEN it runs without a shell (arguments are not split or expanded)", async () => {
    const { record } = await runCommand(
      context(),
      "smoke",
      cmd({
        command: [process.execPath, "-e", "console.log(process.argv.slice(1).join('|'))", "a b", "$HOME"],
      }),
      {},
    );
    expect(record.tail).toEqual(["a b|$HOME"]);
  });
});

describe("commandText", () => {
  it.each<[string | string[], string]>([
    ["npm run test:smoke", "npm run test:smoke"],
    [["npm", "run", "test:smoke"], "npm run test:smoke"],
    [["k6", "run", "--env", "A=b c", "smoke.js"], 'k6 run --env "A=b c" smoke.js'],
  ])("GIVEN %j THEN %s", (command, text) => {
    expect(commandText(command)).toBe(text);
  });
});
