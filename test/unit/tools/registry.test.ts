/**
 * The build of the sandbox's OCI registry (src/tools/registry.ts), with a stand-in `go` on PATH:
 * what it is asked to build and where, the cache, and the failures (no Go, a failed build, a
 * binary of another version) that leave nothing behind.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ToolchainError } from "../../../src/errors.ts";
import { ensureRegistryBinary, REGISTRY_VERSION, registryDir } from "../../../src/tools/registry.ts";

let dir: string;
let tools: string;
let bin: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "gantry-registry-build-"));
  tools = path.join(dir, "tools");
  bin = path.join(dir, "bin");
  await mkdir(bin);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A `go` that logs its arguments and GOBIN, then installs a `registry` printing `version`. */
async function fakeGo(options: { exit?: number; version?: string } = {}): Promise<void> {
  const script = [
    "#!/bin/sh",
    `echo "$@ GOBIN=$GOBIN GOWORK=$GOWORK cwd=$(pwd)" >> "${path.join(dir, "go.log")}"`,
    options.exit ? `echo "go: module lookup failed: 410 Gone" >&2; exit ${String(options.exit)}` : "",
    'mkdir -p "$GOBIN"',
    `printf '#!/bin/sh\\necho "registry github.com/distribution/distribution/v3 ${options.version ?? REGISTRY_VERSION}"\\n' > "$GOBIN/registry"`,
    'chmod +x "$GOBIN/registry"',
  ].join("\n");
  await writeFile(path.join(bin, "go"), `${script}\n`);
  await chmod(path.join(bin, "go"), 0o755);
}

const env = (): NodeJS.ProcessEnv => ({ PATH: `${bin}:/usr/bin:/bin` });

describe("ensureRegistryBinary", () => {
  it("GIVEN Go WHEN first asked THEN `go install <pkg>@<version>` into a staging GOBIN, renamed into the cache; THEN found there", async () => {
    await fakeGo();
    const lines: string[] = [];
    const binary = await ensureRegistryBinary({ toolsDir: tools, log: (l) => lines.push(l), env: env() });
    expect(binary).toBe(path.join(registryDir(tools), "bin", "registry"));
    const log = (await readFile(path.join(dir, "go.log"), "utf8")).trim().split("\n");
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(
      new RegExp(
        `^install -trimpath -ldflags -s -w -X github.com/distribution/distribution/v3/version.version=${REGISTRY_VERSION} github.com/distribution/distribution/v3/cmd/registry@${REGISTRY_VERSION} GOBIN=(\\S+)/bin GOWORK=off cwd=(\\S+)$`,
      ),
    );
    const [, gobinDir, cwd] = /GOBIN=(\S+)\/bin GOWORK=off cwd=(\S+)$/.exec(log[0]!)!;
    expect(gobinDir).toBe(cwd);
    expect(path.basename(cwd!)).toMatch(new RegExp(`^${REGISTRY_VERSION}\\.staging-\\d+$`));
    expect(lines[0]).toContain("building the OCI registry");
    expect(lines.at(-1)).toMatch(/OCI registry built in \d+ s/);

    await expect(ensureRegistryBinary({ toolsDir: tools, log: () => undefined, env: env() })).resolves.toBe(
      binary,
    );
    expect((await readFile(path.join(dir, "go.log"), "utf8")).trim().split("\n")).toHaveLength(1);
  });

  it.each([
    {
      what: "no Go on PATH",
      setup: () => Promise.resolve(),
      code: "GO_MISSING",
      message: /Go is not installed/,
    },
    {
      what: "a failing go install",
      setup: () => fakeGo({ exit: 1 }),
      code: "REGISTRY_BUILD_FAILED",
      message: /go install failed: go: module lookup failed: 410 Gone/,
    },
    {
      what: "a binary of another version",
      setup: () => fakeGo({ version: "v2.8.3" }),
      code: "REGISTRY_BUILD_FAILED",
      message: new RegExp(`does not report ${REGISTRY_VERSION}`),
    },
  ])(
    "GIVEN $what WHEN asked THEN a ToolchainError ($code) and nothing left in the cache",
    async ({ setup, code, message }) => {
      await setup();
      const err = await ensureRegistryBinary({ toolsDir: tools, log: () => undefined, env: env() }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ToolchainError);
      expect((err as ToolchainError).code).toBe(code);
      expect((err as ToolchainError).message).toMatch(message);
      expect((err as ToolchainError).hint).toBeTruthy();
      expect(await readdir(path.join(tools, "registry"))).toEqual([]);
    },
  );
});
