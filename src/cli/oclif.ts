/**
 * oclif's entry, as the CLI's start (src/main.ts) takes it: a module of its own so that the
 * start and the commands use one copy of oclif (scripts/bundle.mjs bundles it with the commands).
 */
export { execute } from '@oclif/core'
