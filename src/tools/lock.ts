import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { ToolchainError } from "../errors.ts";
import { isAlive } from "./pid.ts";

/**
 * Run `fn` while holding an exclusive lock on `lockDir` (mkdir is atomic), so two processes never
 * build the same tool at once. A lock whose holder process is gone is taken over. Waits at most
 * `timeoutMs` for another holder to finish.
 */
export async function withDirLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  timeoutMs = 30 * 60_000,
): Promise<T> {
  await mkdir(path.dirname(lockDir), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(path.join(lockDir, "pid"), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(await readFile(path.join(lockDir, "pid"), "utf8").catch(() => "0"));
      if (holder > 0 && !isAlive(holder)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new ToolchainError(`timed out waiting for ${lockDir} held by pid ${holder}`, {
          code: "TOOL_LOCK_TIMEOUT",
          hint: `wait for pid ${holder} to finish, or remove ${lockDir} if it is not running`,
        });
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}
