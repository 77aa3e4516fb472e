/**
 * The sandbox's Python environment: a virtualenv under .tools/ with the pinned requirements of
 * sandbox/requirements.txt (moto[server]). Keyed by the requirements' hash, so a change of pin
 * builds a fresh one; built in a staging folder and renamed into place only once it imports moto.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { oneLine, ToolchainError } from "../errors.ts";
import { buildOnce } from "../tools/build.ts";
import { run, tail } from "../tools/exec.ts";
import { projectRoot } from "../tools/paths.ts";
import { createVenv, findPython } from "../tools/python.ts";

/** The requirements file that pins moto. */
export const requirementsFile: string = path.join(projectRoot, "sandbox", "requirements.txt");

/** A ready virtual environment. */
export interface SandboxVenv {
  readonly dir: string;
  readonly python: string;
}

/** Find or create the sandbox virtualenv; logs one line per slow step. */
export async function ensureSandboxVenv(
  toolsDir: string,
  log: (line: string) => void,
  pathEnv: string = process.env.PATH ?? "",
): Promise<SandboxVenv> {
  const requirements = await readFile(requirementsFile, "utf8");
  const key = createHash("sha256").update(requirements).digest("hex").slice(0, 12);
  const dir = path.join(toolsDir, `sandbox-venv-${key}`);
  const python = path.join(dir, "bin", "python");
  const started = Date.now();
  const source = await buildOnce(dir, path.join(toolsDir, ".sandbox-venv.lock"), async (staging) => {
    const base = await findPython(pathEnv);
    log(`sandbox: creating the Python environment (moto) under ${path.relative(projectRoot, dir)}`);
    try {
      await createVenv(base, staging, ["-r", requirementsFile]);
      const res = await run(path.join(staging, "bin", "python"), ["-c", "import moto, werkzeug"], {
        timeoutMs: 60_000,
      });
      if (res.code !== 0)
        throw new ToolchainError(`moto does not import: ${tail(res.stderr, 1)}`, {
          code: "SANDBOX_VENV_STEP",
        });
    } catch (err) {
      throw new ToolchainError(`could not create the sandbox Python environment: ${oneLine(err)}`, {
        code: "SANDBOX_VENV_FAILED",
        cause: err,
        hint: "check that PyPI is reachable (pip install moto[server]) and run the command again",
      });
    }
  });
  // A venv's console scripts embed the staging path it was created at, so only bin/python is used.
  if (source === "built") {
    log(`sandbox: Python environment ready in ${Math.round((Date.now() - started) / 1000)} s`);
    // Environments of earlier pins are dead weight now.
    for (const entry of await readdir(toolsDir)) {
      if (/^sandbox-venv-[0-9a-f]{12}$/.test(entry) && path.join(toolsDir, entry) !== dir) {
        await rm(path.join(toolsDir, entry), { recursive: true, force: true });
      }
    }
  }
  return { dir, python };
}
