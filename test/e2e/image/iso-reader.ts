/**
 * A small ISO 9660 reader for tests, written separately from the driver's writer: it walks the
 * volume descriptors and the root directory the way an operating system does, so a seed that
 * parses here has the structure cloud-init's mount will see.
 */
const SECTOR = 2048

export interface IsoVolume {
  volumeId: string
  /** 'primary' (8.3 names) or 'joliet' (UCS-2 names). */
  kind: 'primary' | 'joliet'
  files: Map<string, Buffer>
}

const le32 = (b: Buffer, o: number) => b.readUInt32LE(o)

function ucs2(b: Buffer): string {
  let s = ''
  for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b.readUInt16BE(i))
  return s
}

function readDir(img: Buffer, extent: number, size: number, joliet: boolean): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  const start = extent * SECTOR
  let off = start
  while (off < start + size) {
    const len = img[off]!
    if (len === 0) {
      // Records never cross sectors: skip to the next one.
      off = (Math.floor((off - start) / SECTOR) + 1) * SECTOR + start
      continue
    }
    const rec = img.subarray(off, off + len)
    const flags = rec[25]!
    const nameLen = rec[32]!
    const rawName = rec.subarray(33, 33 + nameLen)
    if (!(nameLen === 1 && (rawName[0] === 0 || rawName[0] === 1)) && !(flags & 2)) {
      if (le32(rec, 2) !== rec.readUInt32BE(6) || le32(rec, 10) !== rec.readUInt32BE(14)) throw new Error('both-endian fields disagree')
      const name = joliet ? ucs2(rawName) : rawName.toString('latin1')
      const at = le32(rec, 2) * SECTOR
      files.set(name, img.subarray(at, at + le32(rec, 10)))
    }
    off += len
  }
  return files
}

/** Every volume (primary and Joliet) with its root directory's files. */
export function readIso(img: Buffer): IsoVolume[] {
  const vols: IsoVolume[] = []
  for (let s = 16; s * SECTOR < img.length; s++) {
    const d = img.subarray(s * SECTOR, (s + 1) * SECTOR)
    if (d.toString('latin1', 1, 6) !== 'CD001') throw new Error(`sector ${s} is not a volume descriptor`)
    const type = d[0]!
    if (type === 255) break
    if (type !== 1 && type !== 2) continue
    const joliet = type === 2 && d.toString('latin1', 88, 91) === '%/E'
    if (le32(d, 80) * SECTOR !== img.length) throw new Error(`volume size ${le32(d, 80)} sectors != image ${img.length / SECTOR}`)
    if (d.readUInt16LE(128) !== SECTOR) throw new Error('logical block size is not 2048')
    const root = d.subarray(156, 190)
    const volumeId = (joliet ? ucs2(d.subarray(40, 72)) : d.toString('latin1', 40, 72)).trimEnd()
    vols.push({ volumeId, kind: joliet ? 'joliet' : 'primary', files: readDir(img, le32(root, 2), le32(root, 10), joliet) })
  }
  return vols
}
