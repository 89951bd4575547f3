/**
 * The QMP client against a QMP-speaking unix socket server made by the test (the real QEMU is
 * exercised by test/drivers/qemu.lifecycle.test.ts): greeting, capabilities negotiation, events
 * interleaved with answers, errors, and `quit` closing the connection.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { qmpExecute, qmpStatus } from '../../drivers/qemu/qmp.js'
import { tempDir } from '../helpers/tmp.js'

let dir = ''
let server: Server
let path = ''
const seen: string[] = []

function serve(sock: Socket): void {
  sock.write('{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}\r\n')
  let buf = ''
  let negotiated = false
  sock.on('data', (d) => {
    buf += d.toString()
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const cmd = JSON.parse(buf.slice(0, nl)) as { execute: string }
      buf = buf.slice(nl + 1)
      seen.push(cmd.execute)
      if (cmd.execute === 'qmp_capabilities') {
        negotiated = true
        sock.write('{"return": {}}\r\n')
      } else if (!negotiated) {
        sock.write('{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with \'qmp_capabilities\'"}}\r\n')
      } else if (cmd.execute === 'query-status') {
        sock.write('{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RTC_CHANGE", "data": {"offset": 0}}\r\n{"return": {"status": "running", "running": true}}\r\n')
      } else if (cmd.execute === 'system_powerdown') {
        sock.write('{"return": {}}\r\n{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "POWERDOWN"}\r\n')
      } else if (cmd.execute === 'quit') {
        // QEMU may exit before its answer reaches the client.
        sock.destroy()
      } else {
        sock.write(`{"error": {"class": "CommandNotFound", "desc": "The command ${cmd.execute} has not been found"}}\r\n`)
      }
    }
  })
}

beforeAll(async () => {
  dir = await tempDir('qmp-')
  path = join(dir, 'qmp.sock')
  server = createServer(serve)
  await new Promise<void>((r) => server.listen(path, () => r()))
})
afterAll(() => {
  server.close()
})

describe('QMP client', () => {
  it('negotiates capabilities, skips events and returns each answer', async () => {
    seen.length = 0
    expect(await qmpStatus({ path })).toBe('running')
    expect(seen).toEqual(['qmp_capabilities', 'query-status'])
    expect(await qmpExecute({ path }, [{ execute: 'system_powerdown' }, { execute: 'query-status' }])).toEqual([{}, { status: 'running', running: true }])
  })

  it('reports QMP errors with the command name', async () => {
    await expect(qmpExecute({ path }, [{ execute: 'bogus' }])).rejects.toThrow('QMP bogus: The command bogus has not been found')
  })

  it('treats the connection closing after quit as success', async () => {
    expect(await qmpExecute({ path }, [{ execute: 'quit' }])).toEqual([])
  })

  it('fails clearly when nothing listens', async () => {
    await expect(qmpStatus({ path: join(dir, 'none.sock') }, 1000)).rejects.toThrow(/QMP connection failed/)
  })
})
