/**
 * The machine's .vmx (VMware's configuration file) and the flat-disk descriptor disk.ts hands
 * vmware-vdiskmanager, both rendered from templates/ (templates/vmware.vmx,
 * vmware-shared-folder.vmx, vmware-flat.vmdk) with every value escaped for VMware's dictionary
 * format, and that format's reader (the tests read the file back as VMware would).
 *
 * VMware's format (open-vm-tools lib/dict/dictll.c, DictLL_MarshalLine): `name = "value"`, where
 * the value escapes `"`, `|`, DEL and every control character but tab as `|XX` (two hex digits),
 * and bytes 0x80-0xFF stay as they are: with `.encoding = "UTF-8"` first, non-ASCII text (a
 * user's home "/Users/José") is written as UTF-8, as VMware itself writes it. A string that is
 * not well-formed Unicode (a lone surrogate) has no UTF-8 form and is refused.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MachineError } from '../../src/driver-kit/errors.js'
import { renderTemplate, templatesDir } from '../../src/driver-kit/templates.js'

/**
 * The virtual hardware per guest architecture. x86_64: version 10 (Workstation 10 / Fusion 6), BIOS
 * and docker-machine's guestOS: every VMware since runs it, with vmxnet3 and pvscsi. aarch64
 * (Fusion 13 on Apple silicon): version 20 with UEFI firmware, the only way Fusion boots an arm64
 * guest; written from VMware's documentation, not run (see docs/drivers/vmware.md).
 */
export const HARDWARE = {
  x86_64: { version: 10, firmware: 'bios', guestOS: 'other3xlinux-64' },
  aarch64: { version: 20, firmware: 'efi', guestOS: 'arm-other5xlinux-64' },
} as const

/** A lone UTF-16 surrogate: text with no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** One value for a .vmx line's quotes. */
export function escapeVmxValue(v: string): string {
  if (LONE_SURROGATE.test(v)) throw new MachineError('invalid-name', `${JSON.stringify(v)} is not well-formed text and cannot go into a VMware configuration file`)
  let out = ''
  for (const ch of v) {
    const c = ch.codePointAt(0)!
    out += (c < 0x20 && c !== 0x09) || c === 0x22 || c === 0x7c || c === 0x7f ? `|${c.toString(16).toUpperCase().padStart(2, '0')}` : ch
  }
  return out
}

/** Undo escapeVmxValue, as VMware's reader does (DictLL_UnmarshalLine): the tests read the file back with it. */
export function unescapeVmxValue(v: string): string {
  const bytes: number[] = []
  const raw = Buffer.from(v, 'utf8')
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x7c && i + 2 < raw.length && /^[0-9A-Fa-f]{2}$/.test(raw.toString('latin1', i + 1, i + 3))) {
      bytes.push(parseInt(raw.toString('latin1', i + 1, i + 3), 16))
      i += 2
    } else bytes.push(raw[i]!)
  }
  return Buffer.from(bytes).toString('utf8')
}

/** A .vmx read as VMware reads it: `name = "value"` lines (names lower-cased: VMware's are case-insensitive), comments and odd lines skipped. */
export function parseVmx(text: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const r = /^\s*([^\s=#"]+)\s*=\s*"([^"]*)"\s*(?:#.*)?$/.exec(line)
    if (r) m.set(r[1]!.toLowerCase(), unescapeVmxValue(r[2]!))
  }
  return m
}

const template = (name: string): string => readFileSync(join(templatesDir(), name), 'utf8')

export interface VmxSpec {
  arch: keyof typeof HARDWARE
  displayName: string
  cpus: number
  memoryMb: number
  networkType: 'nat' | 'bridged' | 'hostonly'
  /** "00:50:56:xx:xx:xx", from VMware's static range (macFor). */
  macAddress: string
  /** File names relative to the .vmx's directory (VMware resolves them there): the machine directory can move with its store. */
  diskFile: string
  seedFile: string
  consoleFile: string
  /** A host folder shared into the guest (VMware shared folders), by its share name. */
  share?: { hostPath: string; guestName: string }
}

export function renderVmx(s: VmxSpec): string {
  const e = escapeVmxValue
  const share = s.share ? renderTemplate(template('vmware-shared-folder.vmx'), { hostPath: e(s.share.hostPath), guestName: e(s.share.guestName) }) : ''
  const hw = HARDWARE[s.arch]
  return renderTemplate(template('vmware.vmx'), {
    hardwareVersion: String(hw.version),
    firmware: hw.firmware,
    displayName: e(s.displayName),
    guestOS: hw.guestOS,
    cpus: String(s.cpus),
    memoryMb: String(s.memoryMb),
    networkType: s.networkType,
    macAddress: e(s.macAddress),
    diskFile: e(s.diskFile),
    seedFile: e(s.seedFile),
    consoleFile: e(s.consoleFile),
    hgfsDisabled: s.share ? 'FALSE' : 'TRUE',
    shareCount: s.share ? '1' : '0',
    sharedFolders: share,
  })
}

/**
 * A MAC from VMware's range for manually set addresses, 00:50:56:00:00:00-00:50:56:3F:FF:FF
 * (VMware refuses a static address outside it). Fixed before the first boot, so the DHCP
 * leases can be searched for it without reading back what VMware generated.
 */
export function macFor(random: Buffer): string {
  const b = [random[0]! & 0x3f, random[1]!, random[2]!]
  return ['00', '50', '56', ...b.map((x) => x.toString(16).padStart(2, '0'))].join(':')
}

/**
 * The flat-extent descriptor that lets vmware-vdiskmanager read a raw image in place (disk.ts).
 * The descriptor's file name has no escape for `"` or line breaks: such a path is refused.
 */
export function renderFlatDescriptor(rawFile: string, bytes: number, arch: keyof typeof HARDWARE): string {
  if (/["\x00-\x1f\x7f]/.test(rawFile) || LONE_SURROGATE.test(rawFile)) {
    throw new MachineError('invalid-image-path', `the image's path ${JSON.stringify(rawFile)} has a quote or control character, which a VMware disk descriptor cannot hold`, {
      hint: 'move the image (or the store, MACHINE_STORAGE_PATH) to a path without quotes or control characters',
    })
  }
  const sectors = bytes / 512
  return renderTemplate(template('vmware-flat.vmdk'), {
    sectors: String(sectors),
    rawFile,
    hardwareVersion: String(HARDWARE[arch].version),
    cylinders: String(Math.max(1, Math.min(65535, Math.floor(sectors / (255 * 63))))),
  })
}
