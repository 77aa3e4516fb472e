/**
 * Canary secrets: GITHUB_TOKEN and the Slack webhook URL, registered as at startup (src/main.ts:
 * registerTokenSecrets) and leaked on purpose into a failing deploy's error, hint and step detail
 * (raw, base64 and embedded in JSON), must not appear in anything the notifications write: stdout,
 * stderr (annotations), the reporter, the job summary, the step outputs, the bodies sent to GitHub
 * and Slack.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GantryError } from "../../../src/errors.ts";
import { hostSettings } from "../../../src/config/hosts.ts";
import { maskingReporter, registerTokenSecrets, SecretMasker } from "../../../src/reporting/mask.ts";
import { TerminalReporter } from "../../../src/reporting/reporter.ts";
import type { DeployResult } from "../../../src/steps/deploy.ts";
import { ACTIONS_BOT, startGitHubApiServer, type GitHubApiServer } from "../../helpers/github-api-server.ts";
import { actionsRun, OUTPUTS, remoteHosts, rolledBack } from "./fixtures.ts";

const TOKEN = "ghs_CanaryT0ken_6f1e2d3c4b5a69788796a5b4";
const HOOK_SECRET = "CanaryHookSecret_Zq8Xw2Lp9Rt4";

let github: GitHubApiServer;
let slack: Server;
let hookUrl: string;
const slackBodies: string[] = [];

beforeAll(async () => {
  github = await startGitHubApiServer({ tokens: { [TOKEN]: ACTIONS_BOT } });
  slack = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      slackBodies.push(Buffer.concat(chunks).toString());
      // Every other message is refused, so warnings (which name the webhook) are produced too.
      const refuse = slackBodies.length % 2 === 0;
      res.writeHead(refuse ? 403 : 200, { "content-type": "text/plain" });
      res.end(refuse ? "invalid_token" : "ok");
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${String((slack.address() as AddressInfo).port)}/services/T01/B02/${HOOK_SECRET}`;
});
afterAll(async () => {
  await github.close();
  slack.closeAllConnections();
  await new Promise<void>((resolve) =>
    slack.close(() => {
      resolve();
    }),
  );
});

/** Every form a canary may take in output. */
const forms = (secret: string): string[] => [
  secret,
  Buffer.from(secret).toString("base64"),
  Buffer.from(secret).toString("base64url"),
  JSON.stringify(secret).slice(1, -1),
];

describe("canary secrets in deploy notifications", () => {
  it("GIVEN the token and webhook URL leak into a failure WHEN every host reports it THEN no form of either is written anywhere", async () => {
    const run = actionsRun(github.url, { GITHUB_TOKEN: TOKEN, GANTRY_SLACK_WEBHOOK_URL: hookUrl });
    const stdout: string[] = [];
    const stderr: string[] = [];
    const spyOut = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      stdout.push(String(chunk));
      return true;
    });
    const spyErr = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });
    try {
      const masker = new SecretMasker();
      registerTokenSecrets(masker, hostSettings(run.env));
      const reporterOut: string[] = [];
      const reporter = maskingReporter(
        new TerminalReporter({
          verbose: true,
          streams: {
            out: { write: (t: string) => reporterOut.push(t) },
            err: { write: (t: string) => reporterOut.push(t) },
          },
        }),
        masker,
      );
      const notifier = await remoteHosts(run.env, {
        log: reporter,
        masker,
        network: { retries: 0, timeoutMs: 2000 },
      });
      await notifier.started({
        kind: "deploy",
        env: "prod",
        tag: "v1.2.3",
        deploymentId: "20261122T101500Z-3f9a1c",
        actor: "alice",
      });
      const leak = [
        `token ${TOKEN}`,
        `basic ${Buffer.from(TOKEN).toString("base64")}`,
        `webhook ${hookUrl}`,
        `config ${JSON.stringify({ webhook: hookUrl, token: TOKEN })}`,
        `hook64 ${Buffer.from(hookUrl).toString("base64")}`,
      ].join(" | ");
      const base = rolledBack(leak);
      const result: DeployResult = {
        ...base,
        error: new GantryError(`smoke test failed: ${leak}`, {
          code: "SMOKE",
          hint: `curl -H 'Authorization: token ${TOKEN}' ${hookUrl}`,
        }),
      };
      await notifier.finished(result, OUTPUTS);
      await notifier.crashed(new Error(`crash with ${TOKEN} and ${hookUrl}`));

      const githubBodies = github.requests.map((r) => JSON.stringify(r.body ?? null));
      const places: Record<string, string> = {
        stdout: stdout.join(""),
        stderr: stderr.join(""),
        reporter: reporterOut.join(""),
        summary: run.summary(),
        outputs: run.output(),
        github: githubBodies.join("\n"),
        slack: slackBodies.join("\n"),
      };
      // The leak really went through every channel (so the absence below means masking, not silence).
      expect(places.stderr).toContain("::error title=");
      expect(places.summary).toContain("smoke test failed");
      expect(places.outputs).toContain("status=rolled_back");
      expect(places.github).toContain("failure");
      expect(places.slack).toContain("smoke test failed");
      expect(places.reporter).toContain("Slack notification failed");
      for (const [where, text] of Object.entries(places)) {
        for (const secret of [TOKEN, hookUrl, HOOK_SECRET]) {
          for (const form of forms(secret)) {
            expect({ where, leaked: text.includes(form) }).toEqual({ where, leaked: false });
          }
        }
      }
      // The mask, escaped like the value it replaced (it renders as ***).
      expect(places.summary).toContain("\\*\\*\\*");
    } finally {
      spyOut.mockRestore();
      spyErr.mockRestore();
      run.cleanup();
    }
  });
});

describe("registerTokenSecrets", () => {
  it("GIVEN GITHUB_TOKEN and a webhook URL in the environment WHEN registered THEN the token, the URL and its path alone are masked", () => {
    const masker = new SecretMasker();
    registerTokenSecrets(
      masker,
      hostSettings({
        GITHUB_TOKEN: TOKEN,
        GANTRY_SLACK_WEBHOOK_URL: ` https://hooks.slack.com/services/T01/B02/${HOOK_SECRET} `,
      }),
    );
    expect(
      masker.redact(
        `t=${TOKEN} u=https://hooks.slack.com/services/T01/B02/${HOOK_SECRET} p=/services/T01/B02/${HOOK_SECRET}`,
      ),
    ).toBe("t=*** u=*** p=***");
  });

  it("GIVEN neither WHEN registered THEN nothing is masked", () => {
    const masker = new SecretMasker();
    registerTokenSecrets(masker, hostSettings({ GANTRY_SLACK_WEBHOOK_URL: "  " }));
    expect(masker.size).toBe(0);
  });
});
