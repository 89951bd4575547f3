import { readdirSync, readFileSync } from 'node:fs'

/**
 * Pids of live processes whose command line contains `text` (a machine directory, a store path):
 * how the VM tests see whether a QEMU of theirs still runs. Zombies are dead and do not count.
 */
export function liveProcessesNaming(text: string): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text)) out.push(Number(d))
    } catch {
      // exited meanwhile
    }
  }
  return out
}

/** Pids of the live children of `pid` (from /proc/<n>/stat's ppid field). */
export function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (state !== 'Z' && Number(ppid) === pid) out.push(Number(d))
    } catch {
      // exited meanwhile
    }
  }
  return out
}
