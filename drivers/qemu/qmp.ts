/**
 * A minimal QMP (QEMU Machine Protocol) client: one short connection per call, JSON lines.
 * QEMU serves one QMP client at a time, so connections are never kept open.
 */
import { connect, type Socket } from 'node:net'
import type { QmpEndpoint } from './cmdline.js'

export interface QmpCommand {
  execute: string
  arguments?: Record<string, unknown>
}

export class QmpError extends Error {
  /** QMP's error class ("GenericError", "CommandNotFound", …). */
  readonly cls: string | undefined
  constructor(message: string, cls?: string) {
    super(message)
    this.name = 'QmpError'
    this.cls = cls
  }
}

/**
 * Run commands in order and return each one's `return` value. A command that makes QEMU exit
 * (`quit`) may close the socket before answering: that counts as success.
 */
export function qmpExecute(endpoint: QmpEndpoint, commands: readonly QmpCommand[], timeoutMs = 5000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const sock: Socket = 'path' in endpoint ? connect(endpoint.path) : connect(endpoint.port, endpoint.host)
    const results: unknown[] = []
    let buf = ''
    let greeted = false
    // -1: qmp_capabilities in flight; i >= 0: commands[i] in flight.
    let pending = -2
    let done = false
    const finish = (err?: Error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      if (err) reject(err)
      else resolve(results)
    }
    const timer = setTimeout(() => finish(new QmpError(`QMP did not answer within ${timeoutMs} ms`)), timeoutMs)
    const send = (c: QmpCommand) => sock.write(`${JSON.stringify(c)}\n`)
    const next = () => {
      pending++
      const c = commands[pending]
      if (!c) return finish()
      send(c)
    }
    sock.setEncoding('utf8')
    sock.on('error', (e) => finish(new QmpError(`QMP connection failed: ${e.message}`)))
    sock.on('close', () => {
      const last = commands[pending]
      if (last?.execute === 'quit') return finish()
      finish(new QmpError('QMP connection closed before the answer'))
    })
    sock.on('data', (chunk: string) => {
      buf += chunk
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim()
        buf = buf.slice(nl + 1)
        if (!line) continue
        let msg: Record<string, unknown>
        try {
          msg = JSON.parse(line) as Record<string, unknown>
        } catch {
          return finish(new QmpError(`QMP sent something that is not JSON: ${line.slice(0, 80)}`))
        }
        if (!greeted) {
          if (!('QMP' in msg)) return finish(new QmpError('QMP greeting missing'))
          greeted = true
          pending = -1
          send({ execute: 'qmp_capabilities' })
          continue
        }
        if ('event' in msg) continue
        if ('error' in msg) {
          const e = msg.error as { class?: string; desc?: string }
          return finish(new QmpError(`QMP ${commands[pending]?.execute ?? 'qmp_capabilities'}: ${e.desc ?? 'error'}`, e.class))
        }
        if ('return' in msg) {
          if (pending >= 0) results.push(msg.return)
          next()
        }
      }
    })
  })
}

/** `query-status` → QEMU's run state ("running", "paused", "shutdown", "guest-panicked", …). */
export async function qmpStatus(endpoint: QmpEndpoint, timeoutMs = 5000): Promise<string> {
  const [r] = await qmpExecute(endpoint, [{ execute: 'query-status' }], timeoutMs)
  return String((r as { status?: unknown } | undefined)?.status ?? 'unknown')
}
