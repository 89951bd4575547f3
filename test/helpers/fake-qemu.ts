/**
 * QEMU stand-ins for the boot watchdog's tests, built on the real QEMU.
 *
 * hangingKvmQemu: what a host with a broken KVM does (nested KVM without VMX/SVM): a VM started
 * with `-accel kvm` runs its firmware, which prints and then hands over to a "kernel" that never
 * gets anywhere. Emulated honestly: the KVM run becomes a TCG run whose disk is a boot sector
 * that spins forever (SeaBIOS prints "Booting from Hard Disk..." and then nothing more comes), so
 * kernel, initrd and disks are dropped. Every other run (tcg, --version) is the real QEMU.
 *
 * workingKvmQemu: a KVM that works, for hosts without one: `-accel kvm -cpu host` becomes
 * `-accel tcg -cpu max` and everything else (disks, kernel) is kept.
 *
 * Both append the command line of each KVM run to <dir>/kvm-runs.log (see kvmRuns).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** A 1 MiB raw disk whose boot sector is `jmp $` (EB FE) with the 55 AA signature. */
export function hangingBootDisk(path: string): string {
  const disk = Buffer.alloc(2 ** 20)
  disk[0] = 0xeb
  disk[1] = 0xfe
  disk[510] = 0x55
  disk[511] = 0xaa
  writeFileSync(path, disk)
  return path
}

/**
 * A 1 MiB raw disk whose boot sector writes `text` to the first serial port (ttyS0) and then
 * spins: a disk whose "kernel" prints its first console line, as a cloud image's does.
 */
export function printingBootDisk(path: string, text: string): string {
  // cld; xor ax,ax; mov ds,ax; mov si,msg; mov dx,0x3f8; l: lodsb; test al,al; jz d; out dx,al; jmp l; d: jmp d; msg:
  const code = [0xfc, 0x31, 0xc0, 0x8e, 0xd8, 0xbe, 0x15, 0x7c, 0xba, 0xf8, 0x03, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xeb, 0xfe]
  const msg = Buffer.from(`${text}\0`, 'latin1')
  if (code.length + msg.length > 510) throw new Error('printingBootDisk: text too long for a boot sector')
  const disk = Buffer.alloc(2 ** 20)
  Buffer.from(code).copy(disk, 0)
  msg.copy(disk, code.length)
  disk[510] = 0x55
  disk[511] = 0xaa
  writeFileSync(path, disk)
  return path
}

const realQemu = () => execFileSync('bash', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).trim()

/** The fake's script: kvm runs are logged, then rewritten by `rewrite` (bash, over args → out). */
function writeFake(dir: string, rewrite: string, extra: string): string {
  mkdirSync(dir, { recursive: true })
  const bin = join(dir, 'qemu-system-x86_64')
  writeFileSync(
    bin,
    `#!/usr/bin/env bash
real=${JSON.stringify(realQemu())}
kvm=0
for a in "$@"; do [ "$a" = kvm ] && kvm=1; done
[ $kvm = 1 ] || exec "$real" "$@"
printf '%s\\n' "$*" >> ${JSON.stringify(join(dir, 'kvm-runs.log'))}
out=()
args=("$@")
i=0
while [ $i -lt \${#args[@]} ]; do
  case "\${args[$i]}" in
${rewrite}
  esac
  out+=("\${args[$i]}")
  i=$((i+1))
done
exec "$real" "\${out[@]}" ${extra}
`,
    { mode: 0o755 },
  )
  return bin
}

export function hangingKvmQemu(dir: string): string {
  const disk = hangingBootDisk(join(dir, 'hang.img'))
  return writeFake(
    dir,
    `    -accel) out+=(-accel tcg); i=$((i+2)); continue ;;
    -cpu) out+=(-cpu max); i=$((i+2)); continue ;;
    -kernel|-initrd|-append|-drive) i=$((i+2)); continue ;;`,
    `-drive file=${JSON.stringify(disk)},format=raw,if=virtio,readonly=on`,
  )
}

export function workingKvmQemu(dir: string): string {
  return writeFake(
    dir,
    `    -accel) out+=(-accel tcg); i=$((i+2)); continue ;;
    -cpu) out+=(-cpu max); i=$((i+2)); continue ;;`,
    '',
  )
}

/** The command lines of the fake's KVM runs so far (the probe's, then the VM's). */
export const kvmRuns = (dir: string): string[] => {
  const f = join(dir, 'kvm-runs.log')
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []
}

/**
 * The real QEMU under another version number (`--version` says `version`): what a machine saved
 * before a QEMU upgrade meets at its next start.
 */
export function versionedQemu(dir: string, version: string): string {
  mkdirSync(dir, { recursive: true })
  const bin = join(dir, 'qemu-system-x86_64')
  writeFileSync(
    bin,
    `#!/usr/bin/env bash
[ "$1" = --version ] && { echo "QEMU emulator version ${version}"; exit 0; }
exec ${JSON.stringify(realQemu())} "$@"
`,
    { mode: 0o755 },
  )
  return bin
}
