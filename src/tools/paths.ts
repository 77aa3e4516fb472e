import { fileURLToPath } from "node:url";
import path from "node:path";

/** Absolute path of the project root (the folder holding package.json). */
export const projectRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Where heavy, reproducible tool builds are cached (git-ignored). */
export const toolsDir: string = path.join(projectRoot, ".tools");

/** Where the sandbox keeps its pid file, logs and Pulumi file backend (git-ignored). */
export const defaultSandboxDir: string = path.join(projectRoot, ".sandbox");
