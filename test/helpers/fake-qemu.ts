/**
 * QEMU stand-ins for the boot watchdog's tests, built on the real QEMU.
 *
 * hangingKvmQemu: what a host with a broken KVM does (nested KVM without VMX/SVM): a VM started
 * with `-accel kvm` runs its firmware, which prints and then hands over to a "kernel" that never
 * gets anywhere. Emulated honestly: the KVM run becomes a TCG run whose disk is a boot sector
 * that spins forever (SeaBIOS prints "Booting from Hard Disk..." and then nothing more comes), so
 * kernel, initrd and disks are dropped. Every other run (tcg, --version) is the real QEMU.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
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

export function hangingKvmQemu(dir: string): string {
  const real = execFileSync('bash', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).trim()
  const disk = hangingBootDisk(join(dir, 'hang.img'))
  const bin = join(dir, 'qemu-system-x86_64')
  writeFileSync(
    bin,
    `#!/usr/bin/env bash
real=${JSON.stringify(real)}
kvm=0
for a in "$@"; do [ "$a" = kvm ] && kvm=1; done
[ $kvm = 1 ] || exec "$real" "$@"
out=()
args=("$@")
i=0
while [ $i -lt \${#args[@]} ]; do
  case "\${args[$i]}" in
    -accel) out+=(-accel tcg); i=$((i+2)); continue ;;
    -cpu) out+=(-cpu max); i=$((i+2)); continue ;;
    -kernel|-initrd|-append|-drive) i=$((i+2)); continue ;;
  esac
  out+=("\${args[$i]}")
  i=$((i+1))
done
exec "$real" "\${out[@]}" -drive file=${JSON.stringify(disk)},format=raw,if=virtio,readonly=on
`,
    { mode: 0o755 },
  )
  return bin
}
