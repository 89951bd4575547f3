import { Args } from '@oclif/core'
import { existsSync } from 'node:fs'
import { BaseCommand } from '../cli/base.js'
import { programName } from '../cli/program.js'
import { MachineError } from '../core/errors.js'
import { engineVersion, readTls } from '../services/engine.js'
import { engineUrlOf, machineTlsFiles } from '../services/machine.js'

/**
 * Connect, TLS handshake and answer together: an engine that says nothing is reported, not
 * waited on. MACHINE_ENGINE_TIMEOUT_MS shortens it (tests; scripts that would rather fail fast).
 */
const engineTimeoutMs = (): number => {
  const v = Number(process.env.MACHINE_ENGINE_TIMEOUT_MS)
  return Number.isInteger(v) && v > 0 && v <= 3_600_000 ? v : 20_000
}

export default class Version extends BaseCommand {
  static override summary = "Print machine's version, or a machine's Docker engine version"
  static override args = { name: Args.string({ description: 'machine name: print its engine version' }) }

  async run(): Promise<unknown> {
    const { args } = await this.parseArgs(Version)
    if (!args.name) {
      const v = `${this.config.bin} version ${this.config.version}`
      if (this.jsonEnabled()) return { version: this.config.version, node: process.versions.node }
      this.out.info(v)
      return undefined
    }
    const name = args.name
    const host = await this.store.load(name)
    const url = engineUrlOf(host)
    if (!url) {
      throw new MachineError('no-engine-url', `Machine "${name}" has no engine URL yet (its create did not finish)`, { hint: `run "${programName()} provision ${name}", or remove it with "${programName()} rm ${name}"` })
    }
    const files = machineTlsFiles(this.store, name)
    const missing = [files.ca, files.cert, files.key].filter((f) => !existsSync(f))
    if (missing.length) {
      throw new MachineError('missing-certs', `Machine "${name}" has no client certificate files: ${missing.join(', ')} missing`, { hint: `run "${programName()} regenerate-certs ${name}"` })
    }
    const creds = await readTls(files).catch((e: unknown) => {
      if (e instanceof MachineError && e.code === 'bad-pem') throw new MachineError('bad-pem', `Machine "${name}": ${e.message}`, { hint: `run "${programName()} regenerate-certs ${name}"` })
      throw e
    })
    const v = await engineVersion(url, creds, engineTimeoutMs(), { machine: name })
    if (this.jsonEnabled()) return { name, engineVersion: v }
    this.out.info(v)
    return undefined
  }
}
