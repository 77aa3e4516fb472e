/** Python virtualenvs for tools gantry installs from PyPI (the sandbox's moto, the workflow linters). */
import path from "node:path";
import { ToolchainError } from "../errors.ts";
import { run, tail, which } from "./exec.ts";

/** The first `python3`/`python` on `pathEnv` that is Python >= 3.9 and has the venv module. */
export async function findPython(pathEnv: string): Promise<string> {
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

/**
 * Create a virtualenv at `dir` with `python` and `pip install` `pipArgs` into it. Throws a
 * ToolchainError (code VENV_STEP_FAILED) naming the step that failed and pip's last words.
 */
export async function createVenv(
  python: string,
  dir: string,
  pipArgs: readonly string[],
  timeoutMs = 15 * 60_000,
): Promise<void> {
  let res = await run(python, ["-m", "venv", dir], { timeoutMs: 120_000 });
  if (res.code !== 0) {
    throw new ToolchainError(`python -m venv failed: ${tail(res.stderr, 2)}`, { code: "VENV_STEP_FAILED" });
  }
  res = await run(
    path.join(dir, "bin", "pip"),
    ["install", "--disable-pip-version-check", "--no-input", "-q", ...pipArgs],
    { timeoutMs },
  );
  if (res.code !== 0) {
    throw new ToolchainError(`pip install ${pipArgs.join(" ")} failed: ${tail(res.stderr, 2)}`, {
      code: "VENV_STEP_FAILED",
    });
  }
}
