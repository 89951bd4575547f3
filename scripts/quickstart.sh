#!/usr/bin/env bash
# Quick start: a local Docker host in a QEMU VM, then `docker version` through `machine env`.
# With internet the qemu driver's default (the official Debian cloud image) is used. Without it
# (only Debian's package mirror reachable, as on CI) a small Debian image is built locally with
# debootstrap (as root, cached) and booted directly.

# shell_words WORD...: the words as one line a POSIX shell reads back as the same words, quoting
# only those that need it (so the echoed create command can be pasted as it is).
shell_words() {
  local out=() w
  for w in "$@"; do
    if [[ "$w" =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
      out+=("$w")
    else
      out+=("'${w//\'/\'\\\'\'}'")
    fi
  done
  echo "${out[*]}"
}
# Sourced (by its test): only the function above.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then return 0; fi

set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-dev}"

args=(-d qemu)
# Only a DNS lookup decides whether the cloud image host is reachable at all.
if ! getent hosts cloud.debian.org >/dev/null 2>&1; then
  echo "==> cloud.debian.org is not reachable: building a local Debian image instead (cached after the first time)"
  eval "$(bash test/e2e/image/build-image.sh)"
  args+=(--qemu-image "$MACHINE_TEST_IMAGE" --qemu-kernel "$MACHINE_TEST_KERNEL" --qemu-initrd "$MACHINE_TEST_INITRD" --qemu-append "$MACHINE_TEST_APPEND")
  # The local image has Docker preinstalled; nothing to download inside the VM.
  args+=(--engine-install-url none)
fi

if machine status "$name" >/dev/null 2>&1; then
  echo "==> Machine \"$name\" exists already"
  [ "$(machine status "$name")" = Running ] || machine start "$name"
else
  echo "==> $(shell_words machine create "${args[@]}" "$name")"
  machine create "${args[@]}" "$name"
fi
echo "==> eval \"\$(machine env $name)\" && docker version"
# This script is bash whatever the caller's $SHELL (unset under sudo -i, cron, env -i).
eval "$(machine env --shell bash "$name")"
docker version
machine ls
