/**
 * The machine's disk: the cached cloud image turned into a growable VMDK with VMware's own
 * `vmware-vdiskmanager`, then grown to --vmware-disk-size. The route, and why:
 *  - qemu-img would convert anything, but it is not part of VMware and rarely on a Mac or a
 *    Windows PC; vmware-vdiskmanager ships with Fusion and Workstation. It cannot read a raw
 *    file by itself, but it reads any VMDK, and a "monolithicFlat" VMDK is only a small text
 *    descriptor naming a raw file as its extent. So for a raw image (the default: Debian
 *    publishes one next to its qcow2) we write that descriptor (templates/vmware-flat.vmdk, the
 *    extent read-only) and let `vmware-vdiskmanager -r <descriptor> -t 0 <disk>` copy it into a
 *    growable sparse disk. The descriptor is deleted afterwards; the cached image is never written.
 *  - a VMDK image is converted the same way, directly.
 *  - qcow2 (or VDI/VHD) is refused with one line: convert it to raw once.
 * Then `vmware-vdiskmanager -x <size>MB` grows it (the guest's cloud-init grows the partition).
 */
import { rm, stat, writeFile } from 'node:fs/promises'
import type { DriverLogger } from '../../src/driver-kit/contract.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { diskFormat } from '../../src/driver-kit/image-cache.js'
import type { ToolRunner } from './client.js'
import { renderFlatDescriptor, type HARDWARE } from './vmx.js'

/** Converting a 2 GB image takes a while on a slow disk: a bound, but a generous one. */
const CONVERT_TIMEOUT_MS = 30 * 60_000

export interface DiskJob {
  image: string
  /** The VMDK to make. */
  dest: string
  /** Where the temporary flat descriptor goes (journaled by the caller). */
  descriptor: string
  sizeMb: number
  arch: keyof typeof HARDWARE
  log: DriverLogger
  signal: AbortSignal
}

/** The argv of the conversion and the growth, for the transcript tests and makeDisk alike. */
export const convertArgs = (source: string, dest: string): string[] => ['-r', source, '-t', '0', dest]
export const growArgs = (dest: string, sizeMb: number): string[] => ['-x', `${sizeMb}MB`, dest]

export async function makeDisk(tools: ToolRunner, o: DiskJob): Promise<void> {
  const format = await diskFormat(o.image)
  const { size } = await stat(o.image)
  let source = o.image
  if (format === 'raw') {
    if (size % 512 !== 0) throw new MachineError('bad-image', `${o.image} is not a disk image (${size} bytes is not a whole number of 512-byte sectors)`)
    await writeFile(o.descriptor, renderFlatDescriptor(o.image, size, o.arch), { mode: 0o600 })
    source = o.descriptor
  } else if (format !== 'vmdk') {
    throw new MachineError('bad-image', `VMware cannot read the ${format} image ${o.image}`, {
      hint: 'give a raw or VMDK image with --vmware-image (e.g. convert it once with "qemu-img convert -O raw IN OUT.raw"); Debian and Ubuntu publish .raw/.img images next to their qcow2',
    })
  }
  o.log.info(`Converting the image to a VMware disk (${format})`)
  try {
    await tools('vmware-vdiskmanager', convertArgs(source, o.dest), { timeoutMs: CONVERT_TIMEOUT_MS, signal: o.signal })
  } finally {
    if (source === o.descriptor) await rm(o.descriptor, { force: true })
  }
  const imageMb = Math.ceil(size / 2 ** 20)
  if (format === 'raw' && imageMb >= o.sizeMb) {
    if (imageMb > o.sizeMb) o.log.info(`The image is ${imageMb} MB, larger than --vmware-disk-size ${o.sizeMb}: using ${imageMb} MB`)
    return
  }
  // A VMDK image's capacity is in its header, not its file size: growing to a size it already has is refused by vdiskmanager, which is fine to ignore only then.
  await tools('vmware-vdiskmanager', growArgs(o.dest, o.sizeMb), { timeoutMs: CONVERT_TIMEOUT_MS, signal: o.signal }).catch((e: unknown) => {
    if (format === 'vmdk' && e instanceof Error && /smaller|same size|not larger/i.test(e.message)) return
    throw e
  })
}
