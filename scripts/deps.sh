#!/usr/bin/env bash
# The npm dependencies, for scripts/setup.sh, .ci/run and scripts/test.sh: `npm ci`, unless
# node_modules/ is already installed from this package-lock.json (scripts/deps-current.mjs says
# why not), so a re-run costs nothing when nothing changed. MACHINE_FORCE_NPM_CI=1 runs npm ci
# anyway; --quiet says nothing when it skips. On failure: npm's last lines, then what went
# wrong and how to fix it, and a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=toolchain.sh
source scripts/toolchain.sh

if [ "${MACHINE_FORCE_NPM_CI:-}" = 1 ]; then
  why="MACHINE_FORCE_NPM_CI=1"
elif why="$(node scripts/deps-current.mjs)"; then
  [ "${1:-}" = --quiet ] || echo "    node_modules/ matches package-lock.json: npm ci skipped" >&2
  exit 0
fi
echo "Installing the npm packages with npm ci ($why) ..." >&2
machine_npm "Installing the npm packages (npm ci)" ci --no-audit --no-fund --loglevel=error
