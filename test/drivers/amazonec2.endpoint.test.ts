/**
 * --amazonec2-endpoint routes every EC2 call: a whole machine life (create, state, ip, stop,
 * start, restart, kill, rm) against an EC2-compatible server on 127.0.0.1, while a nock trap on
 * the public EC2 host proves nothing went there.
 */
import nock from 'nock'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MemoryJournal } from '../../src/driver-kit/memory-journal.js'
import { FakeEc2Server } from './fixtures/amazonec2/fake-ec2-server.js'
import { CREATE_ACTIONS, makeTestDriver, type TestCtx } from './fixtures/amazonec2/scenarios.js'

const server = new FakeEc2Server()
const publicHits: string[] = []
let t: TestCtx | undefined

beforeAll(async () => {
  await server.start()
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
  // A trap on the public endpoints: any call that ignored --amazonec2-endpoint lands here.
  for (const host of ['https://ec2.eu-west-1.amazonaws.com', 'https://ec2.us-east-1.amazonaws.com']) {
    nock(host)
      .persist()
      .post(/.*/)
      .reply(async (req: Request) => {
        publicHits.push(`${host} ${await req.text()}`)
        return [500, 'trap']
      })
  }
})
afterEach(async () => {
  await t?.cleanup()
  t = undefined
})
afterAll(async () => {
  nock.cleanAll()
  await server.stop()
})

describe('amazonec2 --amazonec2-endpoint', () => {
  it('sends every call of a machine life to the custom endpoint', async () => {
    t = await makeTestDriver({ 'amazonec2-endpoint': server.url })
    const { driver, ctx } = t
    const journal = new MemoryJournal()

    await driver.preCreateCheck()
    await driver.create(journal)
    expect(ctx.config.IPAddress).toBe('127.0.0.5')
    expect(ctx.config.Endpoint).toBe(server.url)
    expect(await driver.state()).toBe('Running')
    expect(await driver.ip()).toBe('127.0.0.5')
    await driver.stop()
    expect(await driver.state()).toBe('Stopped')
    await driver.start()
    expect(await driver.state()).toBe('Running')
    await driver.restart()
    await driver.kill()
    expect(await driver.state()).toBe('Stopped')
    await driver.remove(journal)
    expect(journal.entries()).toEqual([])

    const actions = server.actions()
    expect(new Set(actions)).toEqual(
      new Set([...CREATE_ACTIONS, 'StopInstances', 'StartInstances', 'RebootInstances', 'TerminateInstances', 'DeleteKeyPair', 'DeleteSecurityGroup']),
    )
    const port = new URL(server.url).port
    for (const r of server.requests) {
      expect(r.method).toBe('POST')
      expect(r.url).toBe('/')
      expect(r.headers.host).toBe(`127.0.0.1:${port}`)
      expect(r.headers['content-type']).toContain('application/x-www-form-urlencoded')
      // Still signed for EC2 in the chosen region: the endpoint changes where, not what.
      expect(r.headers.authorization).toMatch(/\/eu-west-1\/ec2\/aws4_request/)
    }
    expect(publicHits).toEqual([])
    expect(server.leftovers()).toEqual({ groups: [], keyPairs: [], instances: [] })
  })

  it('accepts a scheme-less endpoint with --amazonec2-insecure-transport (http)', async () => {
    const before = server.requests.length
    t = await makeTestDriver({ 'amazonec2-endpoint': server.url.replace('http://', ''), 'amazonec2-insecure-transport': true })
    t.ctx.config.InstanceId = 'i-0000000000000000f'
    // Unknown to the server: EC2's NotFound, mapped to the Error state.
    expect(await t.driver.state()).toBe('Error')
    expect(server.actions().slice(before)).toEqual(['DescribeInstances'])
    expect(publicHits).toEqual([])
  })
})
