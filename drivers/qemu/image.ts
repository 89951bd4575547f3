/**
 * The qemu driver's use of the kit's verified image cache (src/driver-kit/image-cache.ts): the
 * same code, with errors and hints naming --qemu-image and --qemu-image-checksum.
 */
import {
  fetchFailure as kitFetchFailure,
  parseChecksum as kitParseChecksum,
  resolveImage as kitResolveImage,
  type Checksum,
  type ImageFlags,
  type ResolvedImage,
  type ResolveImageOptions,
} from '../../src/driver-kit/image-cache.js'

export { findInSums, hashFile, imageFormat } from '../../src/driver-kit/image-cache.js'

/** How to go on without the network: a local image. */
export const LOCAL_IMAGE_HINT =
  'or use a local image: --qemu-image PATH (a qcow2 or raw cloud image; for a direct-boot image add --qemu-kernel, --qemu-initrd and --qemu-append; scripts/quickstart.sh builds one offline)'

export const QEMU_IMAGE_FLAGS: ImageFlags = { image: '--qemu-image', checksum: '--qemu-image-checksum', localHint: LOCAL_IMAGE_HINT }

export const parseChecksum = (spec: string): Checksum | { sumsUrl: string } => kitParseChecksum(spec, QEMU_IMAGE_FLAGS.checksum)

export const fetchFailure = (url: string, e: unknown, env: NodeJS.ProcessEnv = process.env) => kitFetchFailure(url, e, LOCAL_IMAGE_HINT, env)

export const resolveImage = (o: Omit<ResolveImageOptions, 'flags'>): Promise<ResolvedImage> => kitResolveImage({ ...o, flags: QEMU_IMAGE_FLAGS })
