#!/usr/bin/env bash
# Installs the npm dependencies (including Node 24 from the npm registry's `node` package) when
# package-lock.json changed since the last install; a no-op taking a few ms otherwise.
# The Pulumi CLI and the sandbox's Python environment are provisioned by gantry itself on first
# use (src/pulumi/cli.ts, src/sandbox/venv.ts), cached under .tools/.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.gantry-deps.sha256
want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x node_modules/.bin/node ]]; then
  exit 0
fi
echo "gantry: installing npm dependencies (npm ci)..." >&2
if ! npm ci --no-audit --no-fund --loglevel=error >&2; then
  echo "gantry: npm ci failed; check network access to the npm registry and run 'npm ci' to see the full error" >&2
  exit 1
fi
if ! node_modules/.bin/node --version >/dev/null 2>&1; then
  echo "gantry: Node 24 from the npm 'node' package did not install (node_modules/.bin/node); run 'npm rebuild node'" >&2
  exit 1
fi
echo "$want" > "$stamp"
