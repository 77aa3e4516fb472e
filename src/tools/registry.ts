/**
 * The CNCF Distribution registry (`registry serve`), the sandbox's real OCI registry: built once
 * from the Go module proxy (`go install github.com/distribution/distribution/v3/cmd/registry@v`)
 * into a staging folder and cached under `.tools/registry/<version>/bin/registry`, like the Pulumi
 * CLI (DESIGN.md "Tools on a machine with no internet beyond package registries").
 */
import path from "node:path";
import { ToolchainError } from "../errors.ts";
import { buildOnce } from "./build.ts";
import { run, tail, which } from "./exec.ts";

/** The released Distribution version gantry builds (a tag of the module on the Go module proxy). */
export const REGISTRY_VERSION = "v3.1.2";

/** The Go package of the registry program. */
const REGISTRY_PACKAGE = "github.com/distribution/distribution/v3/cmd/registry";

/** Where the build of `version` lives under `toolsDir`. */
export function registryDir(toolsDir: string, version: string = REGISTRY_VERSION): string {
  return path.join(toolsDir, "registry", version);
}

/** Options of {@link ensureRegistryBinary}. */
export interface EnsureRegistryOptions {
  readonly toolsDir: string;
  /** One line per slow step (the first build takes a few minutes). */
  readonly log: (line: string) => void;
  /** Environment of the Go build (GOPROXY, GOMODCACHE, …); default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The path of the registry binary, built on first use. Throws a ToolchainError (code
 * REGISTRY_BUILD_FAILED, or GO_MISSING) naming what to install when it cannot be built.
 */
export async function ensureRegistryBinary(options: EnsureRegistryOptions): Promise<string> {
  const env = options.env ?? process.env;
  const dir = registryDir(options.toolsDir);
  const binary = path.join(dir, "bin", "registry");
  await buildOnce(dir, path.join(options.toolsDir, "registry", ".lock"), async (staging) => {
    if (!(await which("go", env.PATH))) {
      throw new ToolchainError(
        "Go is not installed: the sandbox's OCI registry is built from the Go module proxy",
        {
          code: "GO_MISSING",
          hint: "install Go >= 1.26 (apt-get install golang, or go.dev), then start the sandbox again",
        },
      );
    }
    const started = Date.now();
    options.log(
      `sandbox: building the OCI registry (distribution ${REGISTRY_VERSION}) from the Go module proxy, first time only`,
    );
    // go is silent while compiling: a heartbeat shows the build is alive.
    const beat = setInterval(() => {
      options.log(
        `sandbox: still building the OCI registry (${String(Math.round((Date.now() - started) / 1000))} s)`,
      );
    }, 30_000);
    const res = await run(
      "go",
      [
        "install",
        "-trimpath",
        "-ldflags",
        `-s -w -X github.com/distribution/distribution/v3/version.version=${REGISTRY_VERSION}`,
        `${REGISTRY_PACKAGE}@${REGISTRY_VERSION}`,
      ],
      // Outside any module (cwd = the staging folder, no go.work): `go install pkg@version` builds the
      // module at that version with its own go.mod, and GOBIN puts the binary in the staging folder.
      {
        cwd: staging,
        env: { ...env, GOBIN: path.join(staging, "bin"), GOWORK: "off" },
        timeoutMs: 30 * 60_000,
      },
    ).finally(() => {
      clearInterval(beat);
    });
    if (res.code !== 0) {
      throw new ToolchainError(
        `could not build the OCI registry: go install failed: ${tail(res.stderr, 2)}`,
        {
          code: "REGISTRY_BUILD_FAILED",
          hint: `check that the Go module proxy is reachable (go install ${REGISTRY_PACKAGE}@${REGISTRY_VERSION})`,
        },
      );
    }
    const check = await run(path.join(staging, "bin", "registry"), ["--version"], { timeoutMs: 30_000 });
    if (check.code !== 0 || !check.stdout.includes(REGISTRY_VERSION)) {
      throw new ToolchainError(
        `the built OCI registry does not report ${REGISTRY_VERSION}: ${tail(check.stdout + check.stderr, 1)}`,
        {
          code: "REGISTRY_BUILD_FAILED",
          hint: `check what GOPROXY serves for ${REGISTRY_PACKAGE}@${REGISTRY_VERSION}`,
        },
      );
    }
    options.log(`sandbox: OCI registry built in ${String(Math.round((Date.now() - started) / 1000))} s`);
  });
  return binary;
}
