// The default images of the local VM drivers (qemu, virtualbox). Kept apart from image-cache.ts
// (downloads, hashing) so an option list can name its default without loading that code.
const DEBIAN_CLOUD = 'https://cloud.debian.org/images/cloud/bookworm/latest'

/**
 * A Debian 12 cloud image (cloud-init with NoCloud) for an architecture, in one of the formats
 * Debian publishes side by side; its checksum is in the SHA512SUMS file next to it. The one
 * default distribution of the local VM drivers. `genericcloud` has a kernel for virtio hardware
 * only (QEMU); `generic` has Debian's full kernel, with the drivers of the emulated e1000 NIC,
 * AHCI disk and vboxsf shared folders VirtualBox needs.
 */
export const debianCloudImageUrl = (arch: 'x86_64' | 'aarch64', format: 'qcow2' | 'raw', variant: 'genericcloud' | 'generic' = 'genericcloud'): string =>
  `${DEBIAN_CLOUD}/debian-12-${variant}-${arch === 'aarch64' ? 'arm64' : 'amd64'}.${format}`

/** Guest architecture matching the host's (what the default images are built for). */
export const hostGuestArch = (): 'x86_64' | 'aarch64' => (process.arch === 'arm64' ? 'aarch64' : 'x86_64')
