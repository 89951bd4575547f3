/**
 * Option declarations the local VM drivers (qemu, virtualbox, vmware, hyperv) share: the cloud
 * image they boot (and its checksum), and docker-machine's boot2docker flags, which are refused
 * with a line saying what replaces them (boot2docker ended in 2020).
 */
import type { OptionValue } from './options.js'

/** A validateNew for a flag that is no longer used: refused with `what` whenever it is given. */
export const obsolete = (what: string) => (v: OptionValue) => (String(v) === '' ? undefined : what)

/** `--<driver>-boot2docker-url`, refused: `driver` is its flag prefix, `env` its variables' (VIRTUALBOX…). */
export const boot2dockerUrlOption = (driver: string, env: string) => ({
  name: 'boot2docker-url' as const,
  type: 'string' as const,
  description: `Obsolete (boot2docker ended in 2020): refused; use --${driver}-image URL (a cloud image with cloud-init)`,
  env: [`${env}_BOOT2DOCKER_URL`],
  configKey: 'Boot2DockerURL',
  validateNew: obsolete(`boot2docker is no longer used (it ended in 2020): give a cloud image with --${driver}-image URL instead, or leave it out for the default Debian image`),
})

export const IMAGE_CHECKSUM_DESCRIPTION =
  'Checksum of the image: "sha256:<hex>", "sha512:<hex>", a bare hex digest, or the URL of a SHA256SUMS/SHA512SUMS file. Without it, an http(s) image is checked against SHA512SUMS/SHA256SUMS next to it when published'

/** `--<driver>-image` (described by `description`, `fallback` by default) and `--<driver>-image-checksum`. */
export const cloudImageOptions = (env: string, description: string, fallback: string) =>
  [
    { name: 'image' as const, type: 'string' as const, description, env: [`${env}_IMAGE`] as string[], default: fallback, configKey: 'Image' },
    { name: 'image-checksum' as const, type: 'string' as const, description: IMAGE_CHECKSUM_DESCRIPTION, env: [`${env}_IMAGE_CHECKSUM`] as string[], configKey: 'ImageChecksum' },
  ] as const
