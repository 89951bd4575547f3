/**
 * From a cloud image to something Hyper-V's Convert-VHD reads, with nothing but Node: a stock
 * Windows host has no qemu-img, and Convert-VHD reads only VHD and VHDX. A fixed-size VHD is the
 * raw disk followed by a 512-byte footer (Microsoft's "Virtual Hard Disk Image Format
 * Specification", 2006), so a raw image becomes one by copying it and appending the footer; the
 * driver then has Convert-VHD make the dynamic VHDX from it and deletes the copy. The cached image
 * is never changed.
 */
import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'

export type ImageKind = 'raw' | 'vhd' | 'vhdx' | 'qcow2'

const FOOTER = 512
/** Hyper-V (and Azure) want a VHD's size in whole megabytes. */
const ALIGN = 1024 * 1024

/** What the image file is, from its magic bytes ("vhdxfile" first, "conectix" in the last 512 bytes, qcow2's "QFI\xfb"). */
export async function imageKind(path: string): Promise<ImageKind> {
  const fh = await open(path, 'r')
  try {
    const head = Buffer.alloc(8)
    await fh.read(head, 0, 8, 0)
    if (head.toString('latin1') === 'vhdxfile') return 'vhdx'
    if (head.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return 'qcow2'
    const { size } = await fh.stat()
    if (size >= FOOTER) {
      const tail = Buffer.alloc(8)
      await fh.read(tail, 0, 8, size - FOOTER)
      if (tail.toString('latin1') === 'conectix') return 'vhd'
    }
    return 'raw'
  } finally {
    await fh.close()
  }
}

/** The VHD specification's CHS geometry for a disk of `bytes` (appendix "CHS calculation"). */
export function chsGeometry(bytes: number): { cylinders: number; heads: number; sectors: number } {
  let total = Math.floor(bytes / 512)
  if (total > 65535 * 16 * 255) total = 65535 * 16 * 255
  let sectors: number
  let heads: number
  let cth: number
  if (total >= 65535 * 16 * 63) {
    sectors = 255
    heads = 16
    cth = Math.floor(total / sectors)
  } else {
    sectors = 17
    cth = Math.floor(total / sectors)
    heads = Math.max(4, Math.floor((cth + 1023) / 1024))
    if (cth >= heads * 1024 || heads > 16) {
      sectors = 31
      heads = 16
      cth = Math.floor(total / sectors)
    }
    if (cth >= heads * 1024) {
      sectors = 63
      heads = 16
      cth = Math.floor(total / sectors)
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectors }
}

/** The footer of a fixed VHD of `bytes` (a multiple of 512). */
export function fixedVhdFooter(bytes: number, now = new Date(), uniqueId: Buffer = randomBytes(16)): Buffer {
  const f = Buffer.alloc(FOOTER)
  f.write('conectix', 0, 'latin1')
  f.writeUInt32BE(2, 8) // features: "reserved", always set
  f.writeUInt32BE(0x00010000, 12) // format version 1.0
  f.writeBigUInt64BE(0xffffffffffffffffn, 16) // data offset: none (fixed disk)
  f.writeUInt32BE(Math.max(0, Math.floor((now.getTime() - Date.UTC(2000, 0, 1)) / 1000)) >>> 0, 24)
  f.write('mchn', 28, 'latin1') // creator application
  f.writeUInt32BE(0x00010000, 32) // creator version
  f.write('Wi2k', 36, 'latin1') // creator host OS: Windows
  f.writeBigUInt64BE(BigInt(bytes), 40) // original size
  f.writeBigUInt64BE(BigInt(bytes), 48) // current size
  const g = chsGeometry(bytes)
  f.writeUInt16BE(g.cylinders, 56)
  f.writeUInt8(g.heads, 58)
  f.writeUInt8(g.sectors, 59)
  f.writeUInt32BE(2, 60) // disk type: fixed
  uniqueId.copy(f, 68, 0, 16)
  let sum = 0
  for (let i = 0; i < FOOTER; i++) if (i < 64 || i >= 68) sum += f[i]!
  f.writeUInt32BE(~sum >>> 0, 64)
  return f
}

/** Copy a raw image to `dest` as a fixed VHD: the bytes, zeros up to a whole MB, the footer. Returns the disk's size in bytes. */
export async function rawToFixedVhd(src: string, dest: string, signal?: AbortSignal): Promise<number> {
  const { size } = await stat(src)
  const padded = Math.ceil(size / ALIGN) * ALIGN
  const out = createWriteStream(dest, { mode: 0o600 })
  await pipeline(createReadStream(src), out, { end: false, ...(signal ? { signal } : {}) })
  await new Promise<void>((resolve, reject) => {
    out.on('error', reject)
    out.end(Buffer.concat([Buffer.alloc(padded - size), fixedVhdFooter(padded)]), () => resolve())
  })
  return padded
}
