#!/usr/bin/env bash
# `npm test`: every test tier (unit, SSH against a real sshd, drivers with nock and real QEMU,
# CLI, end to end), with Node >= 22 whatever the shell's `node` is.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=toolchain.sh
source scripts/toolchain.sh
bash scripts/deps.sh --quiet
exec node scripts/test.mjs "$@"
