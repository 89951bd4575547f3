/**
 * The shared driver conformance suite against the amazonec2 driver, with EC2 answered by nock:
 * each step arranges exactly the calls it should make, and verify() checks every one was used
 * and nothing else was asked.
 */
import nock from 'nock'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import definition from '../../drivers/amazonec2/index.js'
import { driverConformance, type ConformanceStep } from '../../src/driver-kit/conformance.js'
import { Ec2Mock } from './fixtures/amazonec2/ec2-mock.js'
import { xml } from './fixtures/amazonec2/ec2-xml.js'
import {
  arrangeGroupAndKey,
  arrangeLookups,
  arrangeMaking,
  arrangeRemoval,
  BASE_FLAGS,
  byInstance,
  IDS,
  instance,
  NEW_PUBLIC_IP,
  TEST_ENV,
  CREATE_ACTIONS,
} from './fixtures/amazonec2/scenarios.js'

let m: Ec2Mock

beforeAll(() => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
  m = new Ec2Mock()
})
afterAll(() => m.dispose())

const describeRunning = (ip?: string) =>
  m.on('DescribeInstances', xml.describeInstances([instance({ state: 'running', ...(ip ? { publicIp: ip } : {}) })]), byInstance(IDS.instance))
const describeStopped = () =>
  m.on('DescribeInstances', xml.describeInstances([instance({ state: 'stopped', publicIp: undefined })]), byInstance(IDS.instance))

function arrange(step: ConformanceStep): void {
  switch (step) {
    case 'preCreateCheck':
      arrangeLookups(m)
      break
    case 'create':
      arrangeMaking(m)
      break
    case 'state:running':
    case 'ip':
      describeRunning()
      break
    case 'sshInfo':
      break // answered from the saved config: no API call
    case 'stop':
      m.on('StopInstances', xml.stateChange('StopInstances', IDS.instance, 'stopping', 'running'), (p) => p.Force === undefined)
      m.on('DescribeInstances', xml.describeInstances([instance({ state: 'stopping' })]), byInstance(IDS.instance))
      describeStopped()
      break
    case 'state:stopped':
      describeStopped()
      break
    case 'start':
      m.on('StartInstances', xml.stateChange('StartInstances', IDS.instance, 'pending', 'stopped'), byInstance(IDS.instance))
      describeRunning(NEW_PUBLIC_IP)
      break
    case 'restart':
      m.on('RebootInstances', xml.rebootInstances(), byInstance(IDS.instance))
      describeRunning()
      break
    case 'kill':
      m.on('StopInstances', xml.stateChange('StopInstances', IDS.instance, 'stopping', 'running'), (p) => p.Force === 'true')
      describeStopped()
      break
    case 'remove':
      arrangeRemoval(m)
      break
    case 'remove:again':
      // The journal is empty now; the config still names the instance, already terminated.
      m.on('TerminateInstances', xml.stateChange('TerminateInstances', IDS.instance, 'terminated', 'terminated'), byInstance(IDS.instance))
      break
    case 'create:failing':
      arrangeLookups(m)
      arrangeGroupAndKey(m)
        .on('RunInstances', xml.runInstances(instance({ state: 'pending', publicIp: undefined })))
        .on(
          'DescribeInstances',
          xml.describeInstances([
            instance({ state: 'terminated', publicIp: undefined, stateReason: { code: 'Client.VolumeLimitExceeded', message: 'Client.VolumeLimitExceeded: Volume limit exceeded' } }),
          ]),
        )
      break
    case 'rollback':
      m.on('TerminateInstances', xml.stateChange('TerminateInstances', IDS.instance, 'terminated', 'terminated'), byInstance(IDS.instance))
        .on('DeleteKeyPair', xml.deleteKeyPair())
        .on('DeleteSecurityGroup', xml.deleteSecurityGroup(IDS.sg), (p) => p.GroupId === IDS.sg)
      break
  }
}

function verify(step: ConformanceStep): void {
  expect(m.unmatched, `unmatched requests in ${step}`).toEqual([])
  expect(m.pending(), `unused interceptors in ${step}`).toEqual([])
  expect(nock.isDone()).toBe(true)
}

driverConformance(
  {
    definition,
    flags: BASE_FLAGS,
    env: TEST_ENV,
    arrange,
    verify,
    failingCreate: true,
  },
  { describe, it, expect, beforeAll, afterAll },
)

describe('amazonec2 conformance bookkeeping', () => {
  it('asked EC2 for every step in the expected order', () => {
    const actions = m.actions()
    // create's resource order, then the lifecycle; the failing create and its rollback last.
    expect(actions.slice(0, 11)).toEqual([...CREATE_ACTIONS])
    expect(actions.slice(-3)).toEqual(['TerminateInstances', 'DeleteKeyPair', 'DeleteSecurityGroup'])
  })
})
