/* global process */
// Node's module compile cache for gantry's executable (and the bench's cold import, which loads
// the same way): V8's compiled code and the result of stripping types from each .ts file are kept
// on disk, so every command after the first compiles again only the files that changed. It lives
// in .tools/compile-cache (git-ignored, beside gantry's other caches), or in Node's default
// folder (<os tmpdir>/node-compile-cache) when that one cannot be created. NODE_COMPILE_CACHE=dir
// moves it, NODE_DISABLE_COMPILE_CACHE=1 turns it off; a cache that cannot be read or written
// only costs the time it would have saved.
import module from "node:module";
import path from "node:path";

/** Enable the compile cache for every module loaded from now on. Never throws. */
export function enableCompileCache() {
  // V8's coverage of functions read from the cache is imprecise (Node's docs): none when measured.
  if (process.env.NODE_V8_COVERAGE) return;
  const folder = path.join(import.meta.dirname, "..", ".tools", "compile-cache");
  if (module.enableCompileCache(folder).status === module.constants.compileCacheStatus.FAILED) {
    module.enableCompileCache();
  }
}
