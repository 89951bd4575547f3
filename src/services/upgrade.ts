import { MachineError } from '../core/errors.js'
import { capabilitiesOf } from '../driver-kit/contract.js'
import type { PackageChange, UpgradeResult } from '../provision/upgrader.js'
import { withMachineLock } from '../store/lock.js'
import type { Store } from '../store/store.js'
import type { RunOptions } from './each-machine.js'
import { engineVersion, readTls } from './engine.js'
import { runAction } from './lifecycle.js'
import { machineTlsFiles, type OpenMachine } from './machine.js'
import { engineUrlFromDriver, sshTarget, waitForEngine } from './provision.js'

export interface UpgradeSummary {
  name: string
  /** Engine version the API reported before and after ("" when it did not answer). */
  engineBefore: string
  engineAfter: string
  packages: PackageChange[]
  restarted: boolean
}

const versionOf = async (store: Store, name: string, url: string): Promise<string> =>
  engineVersion(url, () => readTls(machineTlsFiles(store, name)), 10_000).catch(() => '')

/**
 * `machine upgrade`: start the machine if it is not running (as docker-machine does), upgrade the
 * engine packages the host has, restart the engine only when a package changed, and report the
 * engine's own version before and after, as its API answers over TLS.
 */
export async function upgradeMachine(store: Store, m: OpenMachine, o: RunOptions): Promise<UpgradeSummary> {
  const name = m.host.Name
  if (!capabilitiesOf(m.def).ssh) throw new MachineError('not-supported', `machines of the ${m.host.DriverName} driver have no SSH access, so their engine cannot be upgraded`)
  const state = await m.driver.state()
  if (state === 'Stopped' || state === 'Saved') await runAction(store, m, 'start', o)
  else if (state !== 'Running') {
    throw new MachineError('not-running', `Machine "${name}" is ${state ? `in state ${state}` : 'in an unknown state'}, not running`, { hint: `check "machine status ${name}"; upgrade needs it running (or stopped, to start it)` })
  }
  const r = o.reporter
  const log = (l: string) => r.debug(l)
  return withMachineLock(store.path, name, 30_000, async () => {
    const url = await engineUrlFromDriver(m)
    const engineBefore = await versionOf(store, name, url)
    r.info(`Upgrading Docker on "${name}"${engineBefore ? ` (now ${engineBefore})` : ''}...`)
    const { connectSsh } = await import('../ssh/index.js')
    const { upgradeDebianEngine } = await import('../provision/upgrader.js')
    const info = await m.driver.sshInfo()
    const ssh = await connectSsh(sshTarget(store, name, info), { retryForMs: 60_000, signal: o.signal, log })
    let result: UpgradeResult
    try {
      result = await upgradeDebianEngine(ssh, { machineName: name, sshUser: info.user, log })
    } finally {
      ssh.close()
    }
    const { packages, restarted } = result
    await r.step('Waiting for the Docker engine', { timeoutMs: 300_000, signal: o.signal }, (signal) => waitForEngine(store, name, url, signal))
    const engineAfter = await versionOf(store, name, url)
    const moved = packages.filter((p) => p.from !== p.to)
    if (moved.length === 0) r.info(`${name}: Docker ${engineAfter || packages[0]?.to} is already the newest version the host's package sources offer`)
    else {
      r.info(`${name}: Docker ${engineBefore || '?'} → ${engineAfter || '?'}`)
      for (const p of moved) r.info(`  ${p.name} ${p.from} → ${p.to}`)
    }
    await store.save(m.host)
    return { name, engineBefore, engineAfter, packages, restarted }
  })
}
