#!/usr/bin/env node
// The floor under `machine ls` (bench/cli-startup.mjs runs it beside the CLI): what no listing can
// skip, in bare Node and nothing else — read and parse every machine's config.json, dial every
// engine (all at once, as ls does) and print a row per machine. No validation, no driver, no
// TLS, no error text: the least work that still learns each engine's state.
// Usage: MACHINE_STORAGE_PATH=DIR node bench/ls-floor.mjs
import { readdirSync, readFileSync, writeSync } from 'node:fs'
import { connect } from 'node:net'

const machines = `${process.env.MACHINE_STORAGE_PATH}/machines`
const rows = await Promise.all(
  readdirSync(machines).map((name) => {
    const config = JSON.parse(readFileSync(`${machines}/${name}/config.json`, 'utf8'))
    const url = new URL(config.Driver.URL)
    return new Promise((resolve) => {
      const s = connect({ host: url.hostname, port: Number(url.port) })
      s.once('connect', () => (s.destroy(), resolve(`${name}\t${url.href}\tanswered`)))
      s.once('error', (e) => resolve(`${name}\t${url.href}\t${e.code}`))
    })
  }),
)
writeSync(1, `${rows.join('\n')}\n`)
