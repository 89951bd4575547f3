/**
 * For tests: the Debian test image made by build-image.sh (cached outside the repo, so only the
 * first run on a machine builds it, ~3 min as root), plus helpers to watch a booting guest's SSH.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface TestImage {
  image: string
  kernel: string
  initrd: string
  append: string
  dir: string
}

export const BUILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'build-image.sh')

/** Parse the builder's KEY=VALUE lines (values may be single-quoted). */
export function parseImageEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim())
    if (m) out[m[1]!] = m[2]!.replace(/^'(.*)'$/, '$1')
  }
  return out
}

/** Run the builder (a no-op when cached) and return the paths it prints. */
export function ensureTestImage(timeoutMs = 1_500_000): Promise<TestImage> {
  return new Promise((resolve, reject) => {
    execFile('bash', [BUILD_SCRIPT], { timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`build-image.sh failed: ${err.message}\n${stderr.split('\n').slice(-20).join('\n')}`))
      const v = parseImageEnv(stdout)
      if (!v.MACHINE_TEST_IMAGE || !v.MACHINE_TEST_KERNEL || !v.MACHINE_TEST_INITRD) {
        return reject(new Error(`build-image.sh printed no image paths:\n${stdout}`))
      }
      resolve({
        image: v.MACHINE_TEST_IMAGE,
        kernel: v.MACHINE_TEST_KERNEL,
        initrd: v.MACHINE_TEST_INITRD,
        append: v.MACHINE_TEST_APPEND ?? 'root=/dev/vda rw console=ttyS0 net.ifnames=0',
        dir: v.MACHINE_TEST_IMAGE_DIR ?? dirname(v.MACHINE_TEST_IMAGE),
      })
    })
  })
}

/** The first bytes a TCP server sends within `ms` ('' when none). */
function firstBytes(host: string, port: number, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, host)
    let got = ''
    const done = () => {
      clearTimeout(t)
      s.destroy()
      resolve(got)
    }
    const t = setTimeout(done, ms)
    s.setEncoding('latin1')
    s.on('data', (d: string) => {
      got += d
      if (got.includes('\n') || got.length >= 8) done()
    })
    s.on('error', done)
    s.on('close', done)
  })
}

/**
 * Wait until the guest's sshd sends its banner. slirp's hostfwd accepts the TCP connection long
 * before sshd runs, so a successful connect proves nothing: only "SSH-" does.
 */
export async function waitForSshBanner(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<{ banner: string; ms: number }> {
  const t0 = Date.now()
  while (Date.now() - t0 < timeoutMs) {
    const b = await firstBytes(host, port, 3000)
    if (b.startsWith('SSH-')) return { banner: b.trim(), ms: Date.now() - t0 }
    await new Promise((r) => setTimeout(r, 500))
  }
  throw new Error(`no SSH banner on ${host}:${port} within ${Math.round(timeoutMs / 1000)} s`)
}

/** The tail of a machine's serial console, for failure messages. */
export async function consoleTail(path: string, lines = 30): Promise<string> {
  const t = await readFile(path, 'utf8').catch(() => '')
  return t.split('\n').slice(-lines).join('\n')
}
