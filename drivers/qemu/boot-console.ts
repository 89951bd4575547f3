/**
 * What a guest's serial console says about its boot (pure: unit-tested on real console text).
 * The boot watchdog reads console.log while the caller waits for SSH; this module turns the text
 * into the stage reached, a failure that ends the wait at once (kernel panic, no bootable disk,
 * emergency shell), and the words a user is shown when the guest stops making progress.
 */

/** Boot stages in the order a guest passes them. */
export const BOOT_STAGES = ['silent', 'firmware', 'bootloader', 'kernel', 'userspace', 'cloud-init', 'login'] as const
export type BootStage = (typeof BOOT_STAGES)[number]

/** How each stage is named in progress lines ("guest: kernel booting"). */
export const STAGE_LABEL: Record<BootStage, string> = {
  silent: 'no console output yet',
  firmware: 'firmware',
  bootloader: 'boot loader',
  kernel: 'kernel booting',
  userspace: 'starting services',
  'cloud-init': 'cloud-init configuring',
  login: 'login prompt',
}

// Each stage's evidence; the latest stage whose pattern appears wins.
const STAGE_PATTERNS: Array<[BootStage, RegExp]> = [
  ['firmware', /SeaBIOS|iPXE|Booting from (?:Hard Disk|ROM|DVD|CD|Floppy)|BdsDxe|EDK II|UEFI firmware|Press ESC in \d+ seconds/],
  ['bootloader', /GRUB|Loading Linux|Loading initial ramdisk|EFI stub: |Booting `/],
  ['kernel', /Linux version \d|^\[\s*\d+\.\d+\] /m],
  ['userspace', /Run \/init as init process|systemd\[1\]: |Welcome to (?!GRUB).+!|\[\s*OK\s*\] /],
  ['cloud-init', /cloud-init\[\d+\]|Cloud-init v\. /],
  ['login', /\blogin: *$/m],
]

export type BootFailureKind = 'kernel-panic' | 'no-bootable-device' | 'no-root-filesystem' | 'emergency-mode'

export interface BootFailure {
  kind: BootFailureKind
  /** The console line that shows it. */
  line: string
}

// Failures no amount of waiting fixes: the wait ends as soon as one is on the console.
const FAILURE_PATTERNS: Array<[BootFailureKind, RegExp]> = [
  ['kernel-panic', /Kernel panic - not syncing[^\n]*/],
  ['no-bootable-device', /No bootable device[^\n]*|Boot failed: not a bootable disk[^\n]*|No bootable option or device was found[^\n]*|Boot failed: could not read the boot disk[^\n]*/],
  ['no-root-filesystem', /Gave up waiting for root (?:file system )?device[^\n]*|ALERT! +\S+ does not exist[^\n]*/],
  ['emergency-mode', /You are in emergency mode[^\n]*|Give root password for maintenance[^\n]*|Cannot open access to console, the root account is locked[^\n]*/],
]

// cloud-init's own failure lines, and systemd's for its units (whose descriptions vary by release:
// "Cloud-init: Network Stage", "Initial cloud-init job…", "Execute cloud user/final scripts").
const CLOUD_INIT_FAILED = new RegExp(
  [
    String.raw`Failed to start (?:[^\n]*[Cc]loud-init|cloud-(?:config|final)\.service|Apply the settings specified in cloud-config|Execute cloud user/final scripts)[^\n]*`,
    String.raw`cloud-init\[\d+\]:[^\n]*(?:CRITICAL|Traceback)[^\n]*`,
    // A module that raised, and the stage summary cloud-init prints when a whole stage failed.
    String.raw`(?:Running module \S+ \([^\n]*\) failed|Failed to run module \S+|failed run of stage \S+|No instance datasource found)[^\n]*`,
  ].join('|'),
)

export interface BootView {
  stage: BootStage
  failure?: BootFailure
  /**
   * A line saying cloud-init (or one of its modules) failed, if any: not fatal by itself (SSH may
   * not need what failed), named when the boot stalls or SSH does not answer after the login prompt.
   */
  cloudInitFailed?: string
  /** The last non-empty console line, cleaned of escape sequences (what the guest showed last). */
  lastLine: string
}

/** Console text without terminal escape sequences and carriage returns. */
export const cleanConsole = (text: string): string =>
  text
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>c78]/g, '')
    .replace(/\r\n?/g, '\n')
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')

const shorten = (s: string, n = 160): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s)

export function readBootConsole(raw: string): BootView {
  const text = cleanConsole(raw)
  let stage: BootStage = text.trim() ? 'firmware' : 'silent'
  for (const [s, re] of STAGE_PATTERNS) if (re.test(text)) stage = s
  const lastLine = shorten(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? '',
  )
  const view: BootView = { stage, lastLine }
  for (const [kind, re] of FAILURE_PATTERNS) {
    const m = re.exec(text)
    if (m) {
      view.failure = { kind, line: shorten(m[0].trim()) }
      break
    }
  }
  const ci = CLOUD_INIT_FAILED.exec(text)
  if (ci) view.cloudInitFailed = shorten(ci[0].trim())
  return view
}

export const stageIndex = (s: BootStage): number => BOOT_STAGES.indexOf(s)

/** Has the guest's own kernel started (the point a hardware accelerator is proven to work)? */
export const kernelStarted = (v: BootView): boolean => stageIndex(v.stage) >= stageIndex('kernel')

/** The sentence for a boot that ended in a failure the console shows. */
export function describeFailure(f: BootFailure): string {
  switch (f.kind) {
    case 'kernel-panic':
      return `the guest kernel panicked ("${f.line}")`
    case 'no-bootable-device':
      return `the VM found no bootable disk ("${f.line}")`
    case 'no-root-filesystem':
      return `the guest could not find its root file system ("${f.line}")`
    case 'emergency-mode':
      return `the guest stopped in its emergency shell ("${f.line}")`
  }
}

/** The sentence for a guest that stopped making progress at this point of its boot. */
export function describeStall(v: BootView): string {
  const last = v.lastLine ? `; the console last showed "${v.lastLine}"` : ''
  switch (v.stage) {
    case 'silent':
      return 'the console stayed empty (the firmware printed nothing)'
    case 'firmware':
      return `it is stuck in the firmware${last}`
    case 'bootloader':
      return `it is stuck in the boot loader${last}`
    case 'kernel':
      return `the kernel stopped booting${last}`
    case 'userspace':
    case 'cloud-init':
      return v.cloudInitFailed ? `cloud-init failed ("${v.cloudInitFailed}")` : `the system stopped starting up${last}`
    case 'login':
      return v.cloudInitFailed ? `cloud-init failed ("${v.cloudInitFailed}")` : `it reached its login prompt${last}`
  }
}
