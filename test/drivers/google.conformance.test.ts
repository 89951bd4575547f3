/**
 * The shared driver conformance suite on the google driver. Each step gets exactly the
 * Compute Engine requests it should make (nock, GCE JSON); after each step every interceptor
 * must have been used and nothing may have gone unmatched.
 */
import nock from 'nock'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DriverContext } from '../../src/driver-kit/contract.js'
import { driverConformance, type ConformanceStep } from '../../src/driver-kit/conformance.js'
import { firewallAllowed, firewallRuleName } from '../../drivers/google/config.js'
import definition from '../../drivers/google/index.js'
import { GceMock, INSTANCE_ID, instance, NAT_IP, NEW_NAT_IP, operation, PROJECT, writeKeyFile, ZONE } from './fixtures/google/gce.js'
import { tempDir } from '../helpers/tmp.js'

const RULE = firewallRuleName(`projects/${PROJECT}/global/networks/default`, firewallAllowed([]))
const dir = await tempDir('google-conformance-')
const keyFile = await writeKeyFile(dir)
nock.disableNetConnect()
nock.enableNetConnect('127.0.0.1')

let m: GceMock | undefined

const target = (name: string) => `projects/${PROJECT}/zones/${ZONE}/instances/${name}`
const labelsOf = (ctx: DriverContext) => ({ 'machine-name': ctx.machineName, 'machine-id': String(ctx.config.MachineId), 'machine-firewall': RULE })

function arrangeCreate(mock: GceMock, name: string, lastStatus: string) {
  const fwOp = operation({ type: 'insert', target: `projects/${PROJECT}/global/firewalls/${RULE}` })
  const insOp = operation({ type: 'insert', target: target(name), zone: ZONE, targetId: INSTANCE_ID })
  mock.imageFamily().getFirewall(RULE, 404).insertFirewall(200, fwOp).waitGlobalOp({ ...fwOp, status: 'DONE' })
  mock.insertInstance(200, insOp).waitZoneOp({ ...insOp, status: 'DONE' })
  mock.getInstance(instance({ name, status: lastStatus, ...(lastStatus === 'RUNNING' ? {} : { natIP: undefined }) }), name)
}

function arrangeRemove(mock: GceMock, ctx: DriverContext) {
  const name = ctx.machineName
  const del = operation({ type: 'delete', target: target(name), zone: ZONE })
  const fwDel = operation({ type: 'delete', target: `projects/${PROJECT}/global/firewalls/${RULE}` })
  mock.getInstance(instance({ name, labels: labelsOf(ctx), tags: [RULE] }), name).deleteInstance(200, del, name).waitZoneOp({ ...del, status: 'DONE' })
  mock.getDisk(name, 404).aggregatedInstances([]).deleteFirewall(RULE, 200, fwDel).waitGlobalOp({ ...fwDel, status: 'DONE' })
}

function arrange(step: ConformanceStep, ctx: DriverContext): void {
  m = new GceMock()
  const name = ctx.machineName
  const op = (type: string) => operation({ type, target: target(name), zone: ZONE })
  switch (step) {
    case 'preCreateCheck':
      m.getInstance(404, name)
      break
    case 'create':
      arrangeCreate(m, name, 'RUNNING')
      break
    case 'state:running':
    case 'ip':
    case 'sshInfo':
      m.getInstance(instance({ name }), name)
      break
    case 'stop': {
      const o = op('stop')
      m.instanceAction('stop', o, name).waitZoneOp({ ...o, status: 'DONE' })
      break
    }
    case 'state:stopped':
      m.getInstance(instance({ name, status: 'TERMINATED', natIP: undefined }), name)
      break
    case 'start': {
      const o = op('start')
      m.getInstance(instance({ name, status: 'TERMINATED', natIP: undefined }), name).instanceAction('start', o, name).waitZoneOp({ ...o, status: 'DONE' })
      m.getInstance(instance({ name, natIP: NEW_NAT_IP }), name)
      break
    }
    case 'restart': {
      const o = op('reset')
      m.instanceAction('reset', o, name).waitZoneOp({ ...o, status: 'DONE' })
      break
    }
    case 'kill': {
      const o = op('stop')
      m.instanceAction('stop', o, name).waitZoneOp({ ...o, status: 'DONE' })
      break
    }
    case 'remove':
    case 'rollback':
      arrangeRemove(m, ctx)
      break
    case 'remove:again':
      // Nothing left to look for: no request at all.
      break
    case 'create:failing':
      // The instance is made, then found stopped (preempted) instead of running.
      arrangeCreate(m, name, 'TERMINATED')
      break
  }
}

function verify(step: ConformanceStep, ctx: DriverContext): void {
  expect(m!.unmatched, step).toEqual([])
  expect(m!.pending(), step).toEqual([])
  expect(nock.isDone(), step).toBe(true)
  if (step === 'create') {
    expect(ctx.config.IPAddress).toBe(NAT_IP)
    expect(ctx.config.SSHHostKeys).toEqual([expect.stringMatching(/^ssh-ed25519 AAAA/)])
  }
  if (step === 'start') expect(ctx.config.IPAddress).toBe(NEW_NAT_IP)
  if (step === 'kill') expect(m!.find(`POST zones/${ZONE}/instances/${ctx.machineName}/stop`).query.discardLocalSsd).toBe('true')
  m!.dispose()
}

driverConformance(
  {
    definition,
    flags: { 'google-project': PROJECT },
    env: { HOME: dir, GOOGLE_APPLICATION_CREDENTIALS: keyFile, MACHINE_POLL_INTERVAL_MS: '5' },
    failingCreate: true,
    arrange,
    verify,
  },
  { describe, it, expect, beforeAll, afterAll },
)
