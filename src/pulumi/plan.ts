/**
 * Saved Pulumi update plans (`gantry preview --save-plan FILE`, `gantry deploy --plan FILE`): the
 * checks gantry makes before the engine reads one. Kept free of the Pulumi SDK so the CLI can
 * refuse a bad file before anything is loaded, wired or locked.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { UsageError } from "../errors.ts";

/**
 * The absolute path of a readable plan file that looks like a Pulumi update plan (JSON with
 * `manifest` and `resourcePlans`); a usage error naming the next command otherwise.
 */
export async function checkPlanFile(file: string, env: string): Promise<string> {
  const absolute = resolve(file);
  const redo = `gantry preview --env ${env} --save-plan ${file}`;
  let text: string;
  try {
    text = await readFile(absolute, "utf8");
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "cannot be read";
    throw new UsageError(`--plan ${file}: the plan file ${why}`, `save one first: ${redo}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (typeof doc !== "object" || doc === null || !("manifest" in doc) || !("resourcePlans" in doc)) {
    throw new UsageError(`--plan ${file}: not a Pulumi update plan`, `save one with: ${redo}`);
  }
  return absolute;
}
