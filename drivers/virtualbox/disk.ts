/**
 * The machine's disk: the cached cloud image turned into a VirtualBox VDI, grown to
 * --virtualbox-disk-size. Only VBoxManage is used, so nothing else (no qemu-img) is needed on
 * macOS or Windows:
 *  - a raw image (the default: Debian publishes one next to its qcow2) with `convertfromraw`,
 *    which every VirtualBox since 4 has and which reads the file as plain bytes;
 *  - any other format with `clonemedium`, which reads what VirtualBox's own backends read (VDI,
 *    VMDK, VHD; its QCOW backend only knows qcow2 version 2, so a modern qcow2 fails there with
 *    VirtualBox's reason: give a raw image then).
 * The cached image is never changed: the VDI is a full copy in the machine directory.
 */
import { open, rm } from 'node:fs/promises'
import type { DriverLogger } from '../../src/driver-kit/contract.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import { VBoxManageError, type VBoxManage } from './client.js'
import { mediumCapacityMb } from './parse.js'

export type DiskFormat = 'raw' | 'qcow2' | 'vdi' | 'vmdk' | 'vhd'

/** The image's format from its first bytes (a fixed VHD's footer is at its end: read as raw, which it is). */
export async function diskFormat(path: string): Promise<DiskFormat> {
  const fh = await open(path, 'r')
  try {
    const b = Buffer.alloc(72)
    await fh.read(b, 0, b.length, 0)
    if (b.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return 'qcow2'
    if (b.toString('latin1', 0, 4) === 'KDMV' || b.toString('latin1', 0, 21) === '# Disk DescriptorFile') return 'vmdk'
    if (b.toString('latin1', 0, 8) === 'conectix') return 'vhd'
    if (b.readUInt32LE(64) === 0xbeda107f) return 'vdi'
    return 'raw'
  } finally {
    await fh.close()
  }
}

/** Converting a 2 GB image takes a while on a slow disk: a bound, but a generous one. */
const CONVERT_TIMEOUT_MS = 30 * 60_000

export async function makeDisk(
  vbm: VBoxManage,
  o: { image: string; dest: string; sizeMb: number; log: DriverLogger; signal: AbortSignal },
): Promise<void> {
  const format = await diskFormat(o.image)
  o.log.info(`Converting the image to a VirtualBox disk (${format})`)
  if (format === 'raw') {
    await vbm(['convertfromraw', o.image, o.dest, '--format', 'VDI'], { timeoutMs: CONVERT_TIMEOUT_MS, signal: o.signal })
  } else {
    try {
      await vbm(['clonemedium', 'disk', o.image, o.dest, '--format', 'VDI'], { timeoutMs: CONVERT_TIMEOUT_MS, signal: o.signal })
    } catch (e) {
      if (e instanceof VBoxManageError && format === 'qcow2') {
        throw new MachineError('bad-image', `VirtualBox cannot read the qcow2 image ${o.image} (${e.message})`, {
          hint: 'give a raw image with --virtualbox-image (e.g. convert it once with "qemu-img convert -O raw IN OUT.raw"); Debian and Ubuntu publish .raw/.img images next to their qcow2',
        })
      }
      throw e
    } finally {
      // clonemedium registered the cached image as a medium: unregister it (the file stays).
      await vbm(['closemedium', 'disk', o.image]).catch(() => undefined)
    }
  }
  const capacity = mediumCapacityMb((await vbm(['showmediuminfo', 'disk', o.dest], { signal: o.signal })).stdout)
  if (capacity !== undefined && capacity >= o.sizeMb) {
    if (capacity > o.sizeMb) o.log.info(`The image is ${capacity} MB, larger than --virtualbox-disk-size ${o.sizeMb}: using ${capacity} MB`)
    return
  }
  await vbm(['modifymedium', 'disk', o.dest, '--resize', String(o.sizeMb)], { timeoutMs: CONVERT_TIMEOUT_MS, signal: o.signal })
}

/** Remove a disk this driver made: unregistered from VirtualBox and deleted (a file it never registered is just deleted). */
export async function removeDisk(vbm: VBoxManage, path: string): Promise<void> {
  await vbm(['closemedium', 'disk', path, '--delete']).catch(() => undefined)
  await rm(path, { force: true })
}
