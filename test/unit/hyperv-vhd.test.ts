/**
 * The fixed-VHD footer the hyperv driver writes so that Convert-VHD (which reads only VHD/VHDX)
 * takes a raw cloud image on a Windows host without qemu-img (drivers/hyperv/vhd.ts). Checked
 * field by field against the VHD specification, and read back by an independent implementation:
 * QEMU's vpc driver (qemu-img is installed wherever this project's QEMU tests run).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { chsGeometry, fixedVhdFooter, imageKind, rawToFixedVhd } from '../../drivers/hyperv/vhd.js'
import { tempDir } from '../helpers/tmp.js'

const MiB = 1024 * 1024

describe('fixed VHD footer', () => {
  it('CHS geometry follows the specification’s algorithm (values as Hyper-V and qemu-img compute them)', () => {
    expect(chsGeometry(2048 * MiB)).toEqual({ cylinders: 4161, heads: 16, sectors: 63 })
    expect(chsGeometry(4 * MiB)).toEqual({ cylinders: 120, heads: 4, sectors: 17 })
    // Beyond 127 GB: the maximum geometry (the size in the footer is then what counts).
    expect(chsGeometry(200 * 1024 * MiB)).toEqual({ cylinders: 65535, heads: 16, sectors: 255 })
  })

  it('has the cookie, a fixed disk type, both sizes, and a checksum that is the one’s complement of the other bytes’ sum', () => {
    const f = fixedVhdFooter(4 * MiB, new Date(Date.UTC(2000, 0, 1, 0, 1, 40)), Buffer.alloc(16, 7))
    expect(f).toHaveLength(512)
    expect(f.toString('latin1', 0, 8)).toBe('conectix')
    expect(f.readBigUInt64BE(16)).toBe(0xffffffffffffffffn)
    expect(f.readUInt32BE(24)).toBe(100)
    expect(f.readBigUInt64BE(40)).toBe(BigInt(4 * MiB))
    expect(f.readBigUInt64BE(48)).toBe(BigInt(4 * MiB))
    expect(f.readUInt32BE(60)).toBe(2)
    let sum = 0
    for (let i = 0; i < 512; i++) if (i < 64 || i >= 68) sum += f[i]!
    expect(f.readUInt32BE(64)).toBe(~sum >>> 0)
  })

  it('a raw image becomes a VHD whose disk QEMU reads back identical, padded to whole megabytes; the source is untouched', async () => {
    const dir = await tempDir('hyperv-vhd-')
    const raw = join(dir, 'image.raw')
    const data = Buffer.alloc(3 * MiB + 512)
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i)
    await writeFile(raw, data)
    const vhd = join(dir, 'disk.vhd')
    expect(await rawToFixedVhd(raw, vhd)).toBe(4 * MiB)
    expect(readFileSync(vhd).length).toBe(4 * MiB + 512)
    expect(await imageKind(vhd)).toBe('vhd')
    expect(await imageKind(raw)).toBe('raw')
    expect(readFileSync(raw).equals(data)).toBe(true)
    const opts = `driver=vpc,force_size_calc=current_size,file.filename=${vhd}`
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '--image-opts', opts], { encoding: 'utf8' })) as { format: string; 'virtual-size': number }
    expect(info).toMatchObject({ format: 'vpc', 'virtual-size': 4 * MiB })
    // Identical content; the padding reads as zeros.
    execFileSync('qemu-img', ['compare', '--image-opts', `driver=raw,file.filename=${raw}`, opts])
  })
})
