/**
 * The sandbox's Python environment: a virtualenv under .tools/ with the pinned requirements of
 * sandbox/requirements.txt (moto[server]). Keyed by the requirements' hash, so a change of pin
 * builds a fresh one; built in a staging folder and renamed into place only once it imports moto.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { oneLine, ToolchainError } from "../errors.ts";
import { run, tail, which } from "../tools/exec.ts";
import { withDirLock } from "../tools/lock.ts";
import { projectRoot } from "../tools/paths.ts";

/** The requirements file that pins moto. */
export const requirementsFile: string = path.join(projectRoot, "sandbox", "requirements.txt");

/** A ready virtual environment. */
export interface SandboxVenv {
  readonly dir: string;
  readonly python: string;
}

async function findPython(pathEnv: string): Promise<string> {
  for (const name of ["python3", "python"]) {
    const found = await which(name, pathEnv);
    if (!found) continue;
    const res = await run(found, ["-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"], {
      timeoutMs: 10_000,
    });
    const [major, minor] = res.stdout.trim().split(".").map(Number);
    if (res.code === 0 && major === 3 && (minor ?? 0) >= 9) return found;
  }
  throw new ToolchainError("no Python >= 3.9 with the venv module found on PATH", {
    code: "PYTHON_MISSING",
    hint: "install Python 3 with venv (apt-get install python3 python3-venv), then run the command again",
  });
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
  const ready = async (): Promise<boolean> =>
    stat(path.join(dir, ".gantry-ready")).then(
      () => true,
      () => false,
    );
  if (await ready()) return { dir, python };

  return withDirLock(path.join(toolsDir, ".sandbox-venv.lock"), async () => {
    if (await ready()) return { dir, python };
    const base = await findPython(pathEnv);
    const staging = `${dir}.staging-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    const started = Date.now();
    try {
      log(`sandbox: creating the Python environment (moto) under ${path.relative(projectRoot, dir)}`);
      let res = await run(base, ["-m", "venv", staging], { timeoutMs: 120_000 });
      if (res.code !== 0)
        throw new ToolchainError(`python -m venv failed: ${tail(res.stderr, 2)}`, {
          code: "SANDBOX_VENV_STEP",
        });
      res = await run(
        path.join(staging, "bin", "pip"),
        ["install", "--disable-pip-version-check", "--no-input", "-q", "-r", requirementsFile],
        { timeoutMs: 15 * 60_000 },
      );
      if (res.code !== 0)
        throw new ToolchainError(`pip install -r sandbox/requirements.txt failed: ${tail(res.stderr, 2)}`, {
          code: "SANDBOX_VENV_STEP",
        });
      res = await run(path.join(staging, "bin", "python"), ["-c", "import moto, werkzeug"], {
        timeoutMs: 60_000,
      });
      if (res.code !== 0)
        throw new ToolchainError(`moto does not import: ${tail(res.stderr, 1)}`, {
          code: "SANDBOX_VENV_STEP",
        });
      // A venv's console scripts embed its path, so after the rename only bin/python is used.
      await rename(staging, dir);
      await writeFile(path.join(dir, ".gantry-ready"), requirements);
      log(`sandbox: Python environment ready in ${Math.round((Date.now() - started) / 1000)} s`);
      // Environments of earlier pins are dead weight now.
      for (const entry of await readdir(toolsDir)) {
        if (/^sandbox-venv-[0-9a-f]{12}$/.test(entry) && path.join(toolsDir, entry) !== dir) {
          await rm(path.join(toolsDir, entry), { recursive: true, force: true });
        }
      }
      return { dir, python };
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw new ToolchainError(`could not create the sandbox Python environment: ${oneLine(err)}`, {
        code: "SANDBOX_VENV_FAILED",
        cause: err,
        hint: "check that PyPI is reachable (pip install moto[server]) and run the command again",
      });
    }
  });
}
