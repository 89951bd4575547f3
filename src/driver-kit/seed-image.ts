/**
 * A tiny ISO 9660 writer (with Joliet names) for the cloud-init NoCloud seed: a read-only disk
 * labelled `cidata` holding `user-data` and `meta-data` in its root directory. Written here so
 * creating a machine needs no genisoimage/mkisofs/cloud-localds on the host (none of them exists
 * on macOS or Windows by default).
 *
 * Layout (2048-byte sectors): 0-15 system area, 16 primary volume descriptor, 17 Joliet
 * supplementary descriptor, 18 terminator, then the path tables, the two root directories and
 * the file data. Only a flat root directory is supported: that is all NoCloud needs.
 */

const SECTOR = 2048

export interface SeedFile {
  /** File name in the root directory, e.g. "user-data". */
  name: string
  data: string | Uint8Array
}

export interface IsoOptions {
  /** Volume label: cloud-init looks for `cidata`. */
  volumeId?: string
  /** Timestamp written into the descriptors and directory records (default: now). */
  date?: Date
}

/** ISO 9660 level-1 file name (8.3, upper case, d-characters) for the primary directory. */
export function primaryName(name: string): string {
  const clean = (s: string) => s.toUpperCase().replace(/[^A-Z0-9_]/g, '_')
  const dot = name.lastIndexOf('.')
  const base = clean(dot > 0 ? name.slice(0, dot) : name).slice(0, 8) || '_'
  const ext = clean(dot > 0 ? name.slice(dot + 1) : '').slice(0, 3)
  return `${base}.${ext};1`
}

const bothEndian32 = (buf: Buffer, off: number, v: number): void => {
  buf.writeUInt32LE(v, off)
  buf.writeUInt32BE(v, off + 4)
}
const bothEndian16 = (buf: Buffer, off: number, v: number): void => {
  buf.writeUInt16LE(v, off)
  buf.writeUInt16BE(v, off + 2)
}

/** Pad an a/d-character field with spaces (primary) or UCS-2 spaces (Joliet). */
function textField(buf: Buffer, off: number, len: number, text: string, joliet: boolean): void {
  if (joliet) {
    for (let i = 0; i + 1 < len; i += 2) buf.writeUInt16BE(0x20, off + i)
    const enc = ucs2be(text).subarray(0, len - (len % 2))
    enc.copy(buf, off)
  } else {
    buf.fill(0x20, off, off + len)
    buf.write(text.slice(0, len), off, 'latin1')
  }
}

function ucs2be(s: string): Buffer {
  const b = Buffer.alloc(s.length * 2)
  for (let i = 0; i < s.length; i++) b.writeUInt16BE(s.charCodeAt(i), i * 2)
  return b
}

/** 17-byte "dec-datetime" of the volume descriptors: YYYYMMDDHHMMSScc + GMT offset (0). */
function decDate(d: Date): Buffer {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  const s =
    p(d.getUTCFullYear(), 4) +
    p(d.getUTCMonth() + 1) +
    p(d.getUTCDate()) +
    p(d.getUTCHours()) +
    p(d.getUTCMinutes()) +
    p(d.getUTCSeconds()) +
    '00'
  return Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from([0])])
}

/** 7-byte directory record date. */
function recDate(d: Date): Buffer {
  return Buffer.from([
    d.getUTCFullYear() - 1900,
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    0,
  ])
}

function dirRecord(name: Buffer, extent: number, size: number, isDir: boolean, date: Date): Buffer {
  const len = 33 + name.length + (name.length % 2 === 0 ? 1 : 0)
  const r = Buffer.alloc(len)
  r[0] = len
  r[1] = 0
  bothEndian32(r, 2, extent)
  bothEndian32(r, 10, size)
  recDate(date).copy(r, 18)
  r[25] = isDir ? 2 : 0
  bothEndian16(r, 28, 1)
  r[32] = name.length
  name.copy(r, 33)
  return r
}

/** Pack records into sectors; a record never crosses a sector boundary (ISO 9660 rule). */
function packDirectory(records: Buffer[]): Buffer {
  const sectors: Buffer[] = []
  let cur = Buffer.alloc(SECTOR)
  let used = 0
  for (const r of records) {
    if (used + r.length > SECTOR) {
      sectors.push(cur)
      cur = Buffer.alloc(SECTOR)
      used = 0
    }
    r.copy(cur, used)
    used += r.length
  }
  sectors.push(cur)
  return Buffer.concat(sectors)
}

function directoryRecordsSize(nameLens: number[]): number {
  // "." and ".." (34 bytes each) plus the files, packed as packDirectory does.
  let sectors = 1
  let used = 68
  for (const n of nameLens) {
    const len = 33 + n + (n % 2 === 0 ? 1 : 0)
    if (used + len > SECTOR) {
      sectors++
      used = 0
    }
    used += len
  }
  return sectors * SECTOR
}

function pathTable(rootExtent: number, bigEndian: boolean): Buffer {
  const t = Buffer.alloc(10)
  t[0] = 1 // name length (root: one 0x00 byte)
  t[1] = 0
  if (bigEndian) {
    t.writeUInt32BE(rootExtent, 2)
    t.writeUInt16BE(1, 6)
  } else {
    t.writeUInt32LE(rootExtent, 2)
    t.writeUInt16LE(1, 6)
  }
  t[8] = 0
  return t
}

function volumeDescriptor(
  type: 1 | 2,
  o: {
    volumeId: string
    totalSectors: number
    pathTableSize: number
    lPath: number
    mPath: number
    root: Buffer
    date: Date
    joliet: boolean
  },
): Buffer {
  const d = Buffer.alloc(SECTOR)
  d[0] = type
  d.write('CD001', 1, 'latin1')
  d[6] = 1
  textField(d, 8, 32, '', o.joliet)
  textField(d, 40, 32, o.volumeId, o.joliet)
  bothEndian32(d, 80, o.totalSectors)
  // Joliet escape sequence "%/E": UCS-2 level 3.
  if (o.joliet) d.write('%/E', 88, 'latin1')
  bothEndian16(d, 120, 1)
  bothEndian16(d, 124, 1)
  bothEndian16(d, 128, SECTOR)
  bothEndian32(d, 132, o.pathTableSize)
  d.writeUInt32LE(o.lPath, 140)
  d.writeUInt32BE(o.mPath, 148)
  o.root.copy(d, 156)
  textField(d, 190, 128, '', o.joliet)
  textField(d, 318, 128, '', o.joliet)
  textField(d, 446, 128, '', o.joliet)
  textField(d, 574, 128, 'MACHINE', o.joliet)
  textField(d, 702, 37, '', o.joliet)
  textField(d, 739, 37, '', o.joliet)
  textField(d, 776, 37, '', o.joliet)
  const date = decDate(o.date)
  date.copy(d, 813)
  date.copy(d, 830)
  Buffer.concat([Buffer.from('0000000000000000', 'latin1'), Buffer.from([0])]).copy(d, 847)
  date.copy(d, 864)
  d[881] = 1
  return d
}

/** Build an ISO 9660 image (primary + Joliet names) holding `files` in its root directory. */
export function buildIso(files: readonly SeedFile[], opts: IsoOptions = {}): Buffer {
  const volumeId = opts.volumeId ?? 'cidata'
  const date = opts.date ?? new Date()
  const entries = files.map((f) => ({
    name: f.name,
    primary: primaryName(f.name),
    data: typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : Buffer.from(f.data),
  }))
  const seen = new Set<string>()
  for (const e of entries) {
    if (!e.name || e.name.includes('/') || e.name.length > 64) throw new Error(`invalid ISO file name "${e.name}"`)
    if (seen.has(e.primary)) throw new Error(`ISO file names collide: ${e.primary}`)
    seen.add(e.primary)
  }
  // Directory records must be sorted by their identifier.
  const primarySorted = [...entries].sort((a, b) => (a.primary < b.primary ? -1 : a.primary > b.primary ? 1 : 0))
  const jolietSorted = [...entries].sort((a, b) => ucs2be(a.name).compare(ucs2be(b.name)))

  const lPathP = 19
  const mPathP = 20
  const lPathJ = 21
  const mPathJ = 22
  const rootP = 23
  const rootPSize = directoryRecordsSize(primarySorted.map((e) => e.primary.length))
  const rootJ = rootP + rootPSize / SECTOR
  const rootJSize = directoryRecordsSize(jolietSorted.map((e) => e.name.length * 2))
  let next = rootJ + rootJSize / SECTOR
  const extents = new Map<string, number>()
  for (const e of entries) {
    // Empty files get extent 0, as mkisofs does.
    extents.set(e.name, e.data.length ? next : 0)
    next += Math.ceil(e.data.length / SECTOR)
  }
  const totalSectors = next

  const dirs = (joliet: boolean) => {
    const self = joliet ? rootJ : rootP
    const size = joliet ? rootJSize : rootPSize
    const recs = [dirRecord(Buffer.from([0]), self, size, true, date), dirRecord(Buffer.from([1]), self, size, true, date)]
    for (const e of joliet ? jolietSorted : primarySorted) {
      const name = joliet ? ucs2be(e.name) : Buffer.from(e.primary, 'latin1')
      recs.push(dirRecord(name, extents.get(e.name) ?? 0, e.data.length, false, date))
    }
    return { recs, self, size }
  }
  const p = dirs(false)
  const j = dirs(true)

  const img = Buffer.alloc(totalSectors * SECTOR)
  volumeDescriptor(1, {
    volumeId: volumeId,
    totalSectors,
    pathTableSize: 10,
    lPath: lPathP,
    mPath: mPathP,
    root: dirRecord(Buffer.from([0]), p.self, p.size, true, date),
    date,
    joliet: false,
  }).copy(img, 16 * SECTOR)
  volumeDescriptor(2, {
    volumeId: volumeId,
    totalSectors,
    pathTableSize: 10,
    lPath: lPathJ,
    mPath: mPathJ,
    root: dirRecord(Buffer.from([0]), j.self, j.size, true, date),
    date,
    joliet: true,
  }).copy(img, 17 * SECTOR)
  const term = Buffer.alloc(SECTOR)
  term[0] = 255
  term.write('CD001', 1, 'latin1')
  term[6] = 1
  term.copy(img, 18 * SECTOR)
  pathTable(rootP, false).copy(img, lPathP * SECTOR)
  pathTable(rootP, true).copy(img, mPathP * SECTOR)
  pathTable(rootJ, false).copy(img, lPathJ * SECTOR)
  pathTable(rootJ, true).copy(img, mPathJ * SECTOR)
  packDirectory(p.recs).copy(img, rootP * SECTOR)
  packDirectory(j.recs).copy(img, rootJ * SECTOR)
  for (const e of entries) {
    const at = extents.get(e.name) ?? 0
    if (e.data.length) e.data.copy(img, at * SECTOR)
  }
  return img
}

export interface NoCloudSeed {
  /** Full user-data text ("#cloud-config\n…"). */
  userData: string
  instanceId: string
  hostname: string
  /** Optional network-config (v1/v2 YAML or JSON); omitted when undefined. */
  networkConfig?: string
}

/** The meta-data file: JSON is valid YAML, so no YAML writer is needed. */
export const renderMetaData = (s: Pick<NoCloudSeed, 'instanceId' | 'hostname'>): string =>
  `${JSON.stringify({ 'instance-id': s.instanceId, 'local-hostname': s.hostname }, null, 2)}\n`

/** The NoCloud seed disk (ISO 9660, volume id `cidata`). */
export function buildNoCloudSeed(s: NoCloudSeed, opts: Omit<IsoOptions, 'volumeId'> = {}): Buffer {
  const files: SeedFile[] = [
    { name: 'meta-data', data: renderMetaData(s) },
    { name: 'user-data', data: s.userData },
  ]
  if (s.networkConfig !== undefined) files.push({ name: 'network-config', data: s.networkConfig })
  return buildIso(files, { ...opts, volumeId: 'cidata' })
}
