#!/usr/bin/env bash
# Build the small Debian 12 (bookworm) VM image the qemu driver's real-VM tests boot.
#
# Usage: build-image.sh [--arch amd64|arm64]   (default: $MACHINE_TEST_IMAGE_ARCH, else the host's)
# A guest architecture other than the host's is built through qemu-user-static (binfmt_misc):
# the same contents, only slower, since every program the packages run in the chroot is emulated.
#
# Output (cached OUTSIDE the repo, keyed by the hash of this script and the architecture, so
# editing the script rebuilds and re-running it is instant):
#   ${MACHINE_TEST_IMAGE_CACHE:-/var/cache/machine-test-image}/<hash>-<arch>/
#     disk.qcow2   root filesystem (raw ext4, no partition table) converted to compressed qcow2
#     vmlinuz      kernel    } for direct kernel boot:
#     initrd.img   initramfs } -kernel vmlinuz -initrd initrd.img -append "$MACHINE_TEST_APPEND"
#     image.env    the KEY=VALUE lines below, for `source`
# and prints on stdout (everything else goes to stderr):
#   MACHINE_TEST_IMAGE=<dir>/disk.qcow2
#   MACHINE_TEST_KERNEL=<dir>/vmlinuz
#   MACHINE_TEST_INITRD=<dir>/initrd.img
#   MACHINE_TEST_APPEND='root=/dev/vda rw console=ttyS0 net.ifnames=0'   (arm64: console=ttyAMA0)
#   MACHINE_TEST_IMAGE_DIR=<dir>
#   MACHINE_TEST_ARCH=<arch>
#   MACHINE_TEST_BUSYBOX=<dir>/busybox   static busybox for the guest's architecture (test containers)
#
# Contents: debootstrap minbase + kernel, systemd, udev, dbus (so ACPI power-off works), sshd,
# ifupdown/dhclient, ca-certificates, curl, sudo, apparmor, docker.io and cloud-init (NoCloud only).
# Trimmed: MODULES=list initramfs with the virtio drivers, no docs/man/locales, no hardware
# drivers a QEMU guest never sees.
#
# Needs root (debootstrap, chroot). On a fresh Debian 12 it installs its own tools with apt-get.
# Env: MACHINE_TEST_IMAGE_CACHE (cache root), MACHINE_TEST_IMAGE_MIRROR (default
# http://deb.debian.org/debian), MACHINE_TEST_IMAGE_SECURITY_MIRROR (default
# http://deb.debian.org/debian-security, "none" to skip), MACHINE_TEST_IMAGE_SIZE (default 3G,
# the guest grows the filesystem to its disk's size on first boot), MACHINE_TEST_IMAGE_FORCE=1
# (rebuild even if cached).
set -Eeuo pipefail

log() { printf '[build-image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ARCH="${MACHINE_TEST_IMAGE_ARCH:-}"
while (($#)); do
  case "$1" in
    --arch) [[ $# -ge 2 ]] || die "--arch needs a value (amd64 or arm64)"; ARCH="$2"; shift 2 ;;
    --arch=*) ARCH="${1#--arch=}"; shift ;;
    *) die "unknown argument '$1' (usage: build-image.sh [--arch amd64|arm64])" ;;
  esac
done
HOST_ARCH="$(dpkg --print-architecture 2>/dev/null || true)"
ARCH="${ARCH:-$HOST_ARCH}"
# The guest's kernel package, QEMU name (binfmt entry) and serial console.
case "$ARCH" in
  amd64) KERNEL_PKG=linux-image-amd64 QEMU_ARCH=x86_64 CONSOLE=ttyS0 ;;
  arm64) KERNEL_PKG=linux-image-arm64 QEMU_ARCH=aarch64 CONSOLE=ttyAMA0 ;;
  *) die "unsupported architecture '${ARCH:-unknown}' (amd64 and arm64 are supported; needs a Debian-family host)" ;;
esac

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
HASH="$(sha256sum "$SCRIPT_PATH" | cut -c1-16)"
CACHE_ROOT="${MACHINE_TEST_IMAGE_CACHE:-/var/cache/machine-test-image}"
OUT="$CACHE_ROOT/$HASH-$ARCH"
MIRROR="${MACHINE_TEST_IMAGE_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${MACHINE_TEST_IMAGE_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
SIZE="${MACHINE_TEST_IMAGE_SIZE:-3G}"
SUITE=bookworm
APPEND="root=/dev/vda rw console=$CONSOLE net.ifnames=0"

print_result() {
  cat "$OUT/image.env"
}

if [[ -f "$OUT/.complete" && "${MACHINE_TEST_IMAGE_FORCE:-}" != 1 ]]; then
  log "cached: $OUT"
  print_result
  exit 0
fi

[[ $(id -u) == 0 ]] || die "must run as root (debootstrap and chroot need it); cached image not found in $OUT"

FOREIGN=
[[ "$ARCH" == "$HOST_ARCH" ]] || FOREIGN=1

# Tools: install what is missing (fresh Debian 12).
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v flock >/dev/null || need+=(util-linux)
[[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || need+=(debian-archive-keyring)
if [[ -n $FOREIGN ]]; then
  [[ -x /usr/bin/qemu-$QEMU_ARCH-static ]] || need+=(qemu-user-static)
  command -v update-binfmts >/dev/null || need+=(binfmt-support)
fi
if ((${#need[@]})); then
  log "installing build tools: ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# A foreign chroot runs its programs through qemu-user-static, which the kernel starts for them
# via binfmt_misc. The F flag makes the kernel open the interpreter now, so it works inside the
# chroot without copying it there. Idempotent; one line naming what is missing when impossible.
ensure_binfmt() {
  local dir=/proc/sys/fs/binfmt_misc entry=/proc/sys/fs/binfmt_misc/qemu-$QEMU_ARCH
  if [[ ! -e $dir/status ]]; then
    mount -t binfmt_misc binfmt_misc "$dir" 2>/dev/null || die "binfmt_misc is not mounted and cannot be (mount -t binfmt_misc binfmt_misc $dir failed): $ARCH programs cannot run on this $HOST_ARCH host"
  fi
  [[ -e $entry ]] || update-binfmts --enable "qemu-$QEMU_ARCH" >&2 2>/dev/null || true
  [[ "$(head -n1 "$entry" 2>/dev/null)" == enabled ]] || echo 1 >"$entry" 2>/dev/null || true
  [[ "$(head -n1 "$entry" 2>/dev/null)" == enabled ]] || die "no enabled binfmt_misc entry $entry (qemu-user-static installed, but \"update-binfmts --enable qemu-$QEMU_ARCH\" did not register it)"
  grep -q '^flags:.*F' "$entry" || die "$entry lacks the F flag, so it cannot run inside a chroot (re-register it: update-binfmts --disable qemu-$QEMU_ARCH && update-binfmts --enable qemu-$QEMU_ARCH)"
}
[[ -z $FOREIGN ]] || ensure_binfmt

mkdir -p "$CACHE_ROOT"
# One build per hash at a time: a second run waits, then finds the cache.
exec 9>"$CACHE_ROOT/.$HASH.lock"
flock 9
if [[ -f "$OUT/.complete" && "${MACHINE_TEST_IMAGE_FORCE:-}" != 1 ]]; then
  log "cached (built by a concurrent run): $OUT"
  print_result
  exit 0
fi

START=$SECONDS
WORK="$(mktemp -d "$CACHE_ROOT/.build-$HASH.XXXXXX")"
ROOT="$WORK/root"
MOUNTS=()

cleanup() {
  local rc=$?
  # Unmount in reverse order; lazy as a last resort so a busy mount never leaves the tree pinned.
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" 2>/dev/null || true
  done
  MOUNTS=()
  if [[ -n "${WORK:-}" && -d "$WORK" ]]; then
    # Never rm -rf through a mount that is still there.
    if grep -q " $WORK/" /proc/self/mounts; then
      log "mounts under $WORK remain; not deleting it"
    else
      rm -rf "$WORK"
    fi
  fi
  if ((rc != 0)); then log "failed (exit $rc); partial build removed"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mount_chroot() {
  mount -t proc proc "$ROOT/proc" && MOUNTS+=("$ROOT/proc")
  mount -t sysfs sysfs "$ROOT/sys" && MOUNTS+=("$ROOT/sys")
  mount --bind /dev "$ROOT/dev" && MOUNTS+=("$ROOT/dev")
  mount --bind /dev/pts "$ROOT/dev/pts" && MOUNTS+=("$ROOT/dev/pts")
}
umount_chroot() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount "${MOUNTS[$i]}"; done
  MOUNTS=()
}
in_chroot() {
  LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$ROOT" "$@"
}

# --- 1. base system -----------------------------------------------------------------------
log "debootstrap $SUITE ($ARCH) from $MIRROR into $ROOT"
t=$SECONDS
debootstrap --arch="$ARCH" --variant=minbase --include=ca-certificates,netbase \
  "$SUITE" "$ROOT" "$MIRROR" >&2
log "debootstrap done in $((SECONDS - t)) s"

# --- 2. configuration that must exist before the packages are installed ---------------------
# No docs/man pages/locales in anything installed from now on (copyright files stay).
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/90-machine-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
path-exclude=/usr/share/lintian/*
EOF
# Small initramfs: only the drivers a QEMU guest needs to find its root disk.
mkdir -p "$ROOT/etc/initramfs-tools/conf.d"
echo 'MODULES=list' >"$ROOT/etc/initramfs-tools/conf.d/90-machine"
cat >>"$ROOT/etc/initramfs-tools/modules" <<'EOF'
virtio_pci
virtio_mmio
virtio_blk
virtio_scsi
virtio_net
virtio_console
ext4
crc32c_generic
EOF
# Services must not start inside the chroot (docker.io, ssh, ... would try).
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"

{
  echo "deb $MIRROR $SUITE main"
  echo "deb $MIRROR $SUITE-updates main"
  [[ "$SECURITY_MIRROR" == none ]] || echo "deb $SECURITY_MIRROR $SUITE-security main"
} >"$ROOT/etc/apt/sources.list"
cat >"$ROOT/etc/apt/apt.conf.d/90-machine" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF

# --- 3. packages ----------------------------------------------------------------------------
mount_chroot
t=$SECONDS
in_chroot apt-get update -qq >&2
log "installing packages in the chroot"
in_chroot apt-get install -y -qq \
  "$KERNEL_PKG" systemd-sysv udev dbus kmod e2fsprogs procps \
  openssh-server iproute2 ifupdown isc-dhcp-client \
  ca-certificates curl sudo apparmor \
  docker.io cloud-init >&2
log "packages installed in $((SECONDS - t)) s"
# A static busybox of the guest's architecture, beside the image (not in it): the tests' tiny
# container image is made from it (the host's /bin/busybox only runs on a guest of its own arch).
in_chroot sh -c 'cd /tmp && apt-get download -qq busybox-static' >&2
mkdir -p "$WORK/busybox"
dpkg-deb -x "$ROOT"/tmp/busybox-static_*.deb "$WORK/busybox"
rm -f "$ROOT"/tmp/busybox-static_*.deb

# --- 4. guest configuration -----------------------------------------------------------------
echo machine-test >"$ROOT/etc/hostname"
cat >"$ROOT/etc/hosts" <<'EOF'
127.0.0.1 localhost
127.0.1.1 machine-test
::1 localhost ip6-localhost ip6-loopback
EOF
# The root filesystem is the whole disk (no partition table); no fsck pass at boot.
echo '/dev/vda / ext4 rw,errors=remount-ro 0 0' >"$ROOT/etc/fstab"
echo 'LANG=C.UTF-8' >"$ROOT/etc/default/locale"

# DHCP on eth0 (net.ifnames=0 on the kernel command line keeps the name stable). cloud-init's
# own network rendering is switched off below so the two never disagree.
cat >"$ROOT/etc/network/interfaces" <<'EOF'
source /etc/network/interfaces.d/*
auto lo
iface lo inet loopback
auto eth0
iface eth0 inet dhcp
EOF

# cloud-init: the NoCloud seed (a disk labelled cidata) only, never a network metadata service.
cat >"$ROOT/etc/cloud/cloud.cfg.d/90-machine.cfg" <<'EOF'
datasource_list: [ NoCloud, None ]
network: {config: disabled}
locale: C.UTF-8
# Generating RSA/ECDSA keys under TCG costs seconds; ed25519 is what clients pin.
ssh_genkeytypes: [ed25519]
EOF
# Drop modules that only cost boot time here (grub and dpkg are not used by this image).
sed -i -E '/^\s*-\s*(grub[-_]dpkg|grub-dpkg|apt[-_]pipelining|ssh[-_]import[-_]id|byobu|fan|landscape|lxd|ubuntu[-_]advantage|ubuntu[-_]drivers|snap|puppet|chef|mcollective|salt[-_]minion|rightscale[-_]userdata|reset[-_]rmc|refresh[-_]rmc[-_]and[-_]interface|spacewalk|emit[-_]upstart)\s*$/d' \
  "$ROOT/etc/cloud/cloud.cfg"

# sshd: keys only, one ed25519 host key (written by cloud-init from the seed before sshd starts).
mkdir -p "$ROOT/etc/ssh/sshd_config.d"
cat >"$ROOT/etc/ssh/sshd_config.d/10-machine.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF
# Host keys made during the build would be shared by every VM from this image: remove them.
rm -f "$ROOT"/etc/ssh/ssh_host_*

# Timers that only matter on a long-lived host.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
  in_chroot systemctl disable "$unit" >/dev/null 2>&1 || true
done
in_chroot systemctl enable ssh.service docker.service >/dev/null 2>&1 || true

# Every VM gets its own machine-id at first boot.
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"

# --- 5. kernel: drop drivers a QEMU guest never sees, rebuild the (small) initramfs ---------
KVER="$(basename "$(ls -d "$ROOT"/lib/modules/* | sort -V | tail -n1)")"
MODDIR="$ROOT/lib/modules/$KVER/kernel"
for d in sound drivers/gpu drivers/media drivers/net/wireless drivers/net/ethernet drivers/net/usb \
  drivers/net/can drivers/net/wwan drivers/infiniband drivers/staging drivers/bluetooth drivers/isdn \
  drivers/iio drivers/usb drivers/mtd drivers/hwmon drivers/input/touchscreen drivers/input/joystick \
  drivers/input/misc drivers/nfc drivers/thunderbolt drivers/platform/chrome drivers/scsi/qla2xxx \
  drivers/scsi/lpfc drivers/scsi/mpt3sas drivers/scsi/megaraid drivers/scsi/aacraid drivers/scsi/bfa \
  drivers/scsi/be2iscsi drivers/scsi/qedf drivers/scsi/qedi drivers/scsi/bnx2fc drivers/scsi/csiostor \
  drivers/scsi/fnic drivers/scsi/pm8001 drivers/scsi/smartpqi drivers/net/fddi drivers/net/hamradio \
  drivers/net/ieee802154 drivers/net/arcnet drivers/atm drivers/md/bcache net/wireless net/mac80211 \
  net/bluetooth net/nfc net/ieee802154 net/mac802154 fs/ocfs2 fs/gfs2 fs/ubifs fs/jffs2 fs/nilfs2; do
  rm -rf "${MODDIR:?}/$d"
done
rm -rf "$ROOT/lib/firmware"/* 2>/dev/null || true
in_chroot depmod -a "$KVER"
in_chroot update-initramfs -u -k "$KVER" >&2

# --- 6. trim ----------------------------------------------------------------------------------
in_chroot apt-get clean
rm -f "$ROOT/usr/sbin/policy-rc.d"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/debconf/*-old \
  "$ROOT"/var/log/*.log "$ROOT"/var/log/apt/* "$ROOT"/var/lib/cloud/* "$ROOT"/tmp/* \
  "$ROOT"/usr/share/doc/*/[!c]* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* 2>/dev/null || true
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
find "$ROOT/usr/share/doc" -mindepth 1 -type f ! -name copyright -delete 2>/dev/null || true
umount_chroot

# --- 7. disk image --------------------------------------------------------------------------
STAGE="$WORK/out"
mkdir -p "$STAGE"
cp -L "$ROOT/boot/vmlinuz-$KVER" "$STAGE/vmlinuz"
cp -L "$ROOT/boot/initrd.img-$KVER" "$STAGE/initrd.img"
cp "$WORK/busybox/bin/busybox" "$STAGE/busybox"
log "root tree: $(du -sh "$ROOT" | cut -f1); initrd: $(du -h "$STAGE/initrd.img" | cut -f1)"
t=$SECONDS
# mkfs -d copies the tree (owners, modes, xattrs) into a raw ext4 image: no loop device needed.
mkfs.ext4 -q -F -L machine-root -d "$ROOT" "$WORK/disk.raw" "$SIZE" >&2
if ! qemu-img convert -O qcow2 -c -o compression_type=zstd "$WORK/disk.raw" "$STAGE/disk.qcow2" 2>/dev/null; then
  qemu-img convert -O qcow2 -c "$WORK/disk.raw" "$STAGE/disk.qcow2"
fi
rm -f "$WORK/disk.raw"
log "disk image made in $((SECONDS - t)) s: $(du -h "$STAGE/disk.qcow2" | cut -f1)"

{
  echo "MACHINE_TEST_IMAGE=$OUT/disk.qcow2"
  echo "MACHINE_TEST_KERNEL=$OUT/vmlinuz"
  echo "MACHINE_TEST_INITRD=$OUT/initrd.img"
  echo "MACHINE_TEST_APPEND='$APPEND'"
  echo "MACHINE_TEST_IMAGE_DIR=$OUT"
  echo "MACHINE_TEST_ARCH=$ARCH"
  echo "MACHINE_TEST_BUSYBOX=$OUT/busybox"
} >"$STAGE/image.env"
date -u +%Y-%m-%dT%H:%M:%SZ >"$STAGE/.complete"

rm -rf "$OUT"
mv "$STAGE" "$OUT"
log "built in $((SECONDS - START)) s: $OUT"
print_result
