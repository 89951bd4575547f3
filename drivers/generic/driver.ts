import { existsSync } from 'node:fs'
import { copyFile, chmod } from 'node:fs/promises'
import { connect } from 'node:net'
import { homedir } from 'node:os'
import { basename, join } from 'node:path'
import { formatEngineUrl } from '../../src/driver-kit/engine-url.js'
import { MachineError } from '../../src/driver-kit/errors.js'
import type { Driver, DriverContext, MachineState, SshInfo } from '../../src/driver-kit/contract.js'
import { NotSupportedError } from '../../src/driver-kit/contract.js'
import { knownHostsPath } from '../../src/driver-kit/layout.js'
import { connectSsh, SshUnreachableError } from '../../src/driver-kit/ssh.js'
import { abortReason, envMs, sleep } from '../../src/driver-kit/wait.js'
import type { options } from './options.js'

/**
 * TCP connect to the SSH port: true, or why not ("connect ECONNREFUSED …", "no answer within …").
 * An abort (Ctrl-C) destroys the socket at once and rejects with the signal's reason: a host
 * that drops packets must not keep an interrupted create alive for the whole probe timeout.
 */
function probePort(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<true | string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal))
    const s = connect({ host, port })
    const onAbort = () => {
      s.destroy()
      reject(abortReason(signal!))
    }
    const done = (r: true | string) => {
      signal?.removeEventListener('abort', onAbort)
      s.destroy()
      resolve(r)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    s.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`))
    s.once('connect', () => done(true))
    s.once('error', (e) => done(e.message))
  })
}

/** As docker-machine's generic driver decides Running/Stopped. */
const portOpen = async (host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> => (await probePort(host, port, timeoutMs, signal)) === true

/**
 * The host already exists, so its SSH port must answer before anything is made: retried for a
 * bounded time (a host that is still booting), then refused with what the port said. Without
 * this a wrong address or port would only fail after the create flow's long boot-time SSH wait.
 * Ctrl-C ends the wait at once (probe and sleep both honour the signal) with the interruption.
 */
async function waitForSshPort(host: string, port: number, probeMs: number, waitMs: number, signal: AbortSignal): Promise<void> {
  const started = Date.now()
  let attempts = 0
  for (;;) {
    attempts++
    const r = await probePort(host, port, probeMs, signal)
    if (r === true) return
    const left = waitMs - (Date.now() - started)
    if (left <= 0) throw new SshUnreachableError({ host, port, attempts, elapsedMs: Date.now() - started, lastError: r })
    await sleep(Math.min(1_000, left), signal)
  }
}

function defaultKey(): string | undefined {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((k) => join(homedir(), '.ssh', k)).find((p) => existsSync(p))
}


export function createDriver(ctx: DriverContext<typeof options>): Driver {
  // Option values come resolved (flag, saved config, env, default); ctx.config holds only what the
  // driver records: the copied key (SSHKeyPath) and the key create should copy (SSHKey).
  const c = ctx.config
  const o = ctx.options
  const host = () => o.ipAddress
  const sshPort = () => o.sshPort
  const probeMs = envMs(ctx.env, 'MACHINE_GENERIC_PROBE_TIMEOUT_MS', 10_000)
  const sshWaitMs = envMs(ctx.env, 'MACHINE_GENERIC_SSH_WAIT_MS', 30_000)
  const rebootDownMs = envMs(ctx.env, 'MACHINE_GENERIC_REBOOT_DOWN_MS', 60_000)

  const sshInfo = async (): Promise<SshInfo> => ({
    host: host(),
    port: sshPort(),
    user: o.sshUser,
    keyPath: String(c.SSHKeyPath ?? ''),
    ...(o.sshHostKeyFingerprint ? { hostKeyFingerprint: o.sshHostKeyFingerprint } : {}),
  })

  return {
    async preCreateCheck() {
      const key = o.sshKey || defaultKey()
      if (!key) {
        throw new MachineError('missing-option', 'No SSH key for the generic driver', { hint: 'pass --generic-ssh-key <private key file>' })
      }
      if (!existsSync(key)) {
        throw new MachineError('invalid-option', `--generic-ssh-key: file ${key} does not exist`, { hint: 'give the path of the private key that logs in to the host' })
      }
      // Recorded as docker-machine does, also when it was the default key found here.
      c.SSHKey = key
      await waitForSshPort(host(), sshPort(), probeMs, sshWaitMs, ctx.signal)
    },
    async create() {
      // docker-machine copies the key under its own name into the machine directory, so the
      // machine keeps working if the user's file moves.
      const key = String(c.SSHKey ?? o.sshKey)
      const dest = join(ctx.machineDir, basename(key))
      await copyFile(key, dest)
      await chmod(dest, 0o600)
      c.SSHKeyPath = dest
    },
    async remove() {
      // Nothing was created remotely: the host stays as it is.
    },
    start: () => Promise.reject(new NotSupportedError('generic', 'start')),
    stop: () => Promise.reject(new NotSupportedError('generic', 'stop')),
    kill: () => Promise.reject(new NotSupportedError('generic', 'kill')),
    async restart() {
      const info = await sshInfo()
      const command = `${info.user === 'root' ? '' : 'sudo -n '}shutdown -r now`
      const session = await connectSsh({ ...info, knownHostsPath: knownHostsPath(ctx.machineDir), trustOnFirstUse: true }, { timeoutMs: probeMs })
      let result: { code: number; stdout: string; stderr: string } | undefined
      try {
        // The connection drops as the host goes down: a lost connection is the expected outcome.
        result = await session.exec(command, { timeoutMs: 10_000 }).catch(() => undefined)
      } finally {
        session.close()
      }
      if (result && result.code !== 0) {
        // Not rebooting (no shutdown command, sudo wants a password…): say so instead of
        // reporting a restart that never happened.
        const why = (result.stderr || result.stdout).trim().split('\n').pop() ?? ''
        throw new MachineError('restart-failed', `\`${command}\` on "${ctx.machineName}" exited with code ${result.code}${why ? `: ${why}` : ''}`, {
          hint: info.user === 'root' ? undefined : `the SSH user ${info.user} needs passwordless sudo`,
        })
      }
      // Wait until the host is really down, so the caller's wait for Running sees it come back
      // rather than the SSH port of the boot that is just ending.
      const deadline = Date.now() + rebootDownMs
      while (Date.now() < deadline) {
        if (!(await portOpen(host(), sshPort(), Math.min(probeMs, 2_000), ctx.signal))) return
        await sleep(250, ctx.signal)
      }
      ctx.log.info(`SSH on ${host()}:${sshPort()} still answered ${Math.round(rebootDownMs / 1000)} s after the reboot was requested`)
    },
    async state(): Promise<MachineState> {
      return (await portOpen(host(), sshPort(), probeMs)) ? 'Running' : 'Stopped'
    },
    ip: async () => host(),
    sshInfo,
    enginePort: () => o.enginePort,
    engineUrl: async () => formatEngineUrl(host(), o.enginePort),
  }
}
