import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { withDirLock } from "./lock.ts";

/** The file whose presence says a tool folder is complete (written before the folder is renamed into place). */
export const READY_MARKER = ".gantry-ready";

/** Where {@link buildOnce} found the folder: already built, or built by this call. */
export type BuildSource = "cache" | "built";

/** True when `dir` holds a completed build. */
export async function isBuilt(dir: string): Promise<boolean> {
  return stat(path.join(dir, READY_MARKER)).then(
    () => true,
    () => false,
  );
}

/**
 * Provide the tool folder `dir` (under .tools/), built at most once: when it is complete, resolve at
 * once; otherwise, holding `lockDir` so two processes never build it together, call `build` with an
 * empty staging folder beside `dir`, then mark that folder complete and rename it into place. A build
 * that throws leaves nothing behind (nor do the staging folders of builds that were killed), and the
 * error passes through unchanged.
 */
export async function buildOnce(
  dir: string,
  lockDir: string,
  build: (staging: string) => Promise<void>,
): Promise<BuildSource> {
  if (await isBuilt(dir)) return "cache";
  return withDirLock(lockDir, async () => {
    if (await isBuilt(dir)) return "cache";
    const parent = path.dirname(dir);
    const prefix = `${path.basename(dir)}.staging-`;
    await mkdir(parent, { recursive: true });
    // We hold the lock: any staging folder of this tool is a dead build's.
    for (const entry of await readdir(parent)) {
      if (entry.startsWith(prefix)) await rm(path.join(parent, entry), { recursive: true, force: true });
    }
    const staging = path.join(parent, `${prefix}${String(process.pid)}`);
    try {
      await mkdir(staging);
      await build(staging);
      await writeFile(path.join(staging, READY_MARKER), `${new Date().toISOString()}\n`);
      // An incomplete folder (no marker) from an older layout is replaced.
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
      return "built";
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  });
}
