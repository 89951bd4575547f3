// A vitest setup file (vitest.config.ts): after each test file, run the clean-ups its tests registered
// outside a test (tempDir()/tempStore() directories, servers; see tmp.ts), even when tests failed.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'
import { removeLater, runFileCleanups } from './tmp.js'

// create writes a docker context into the docker CLI's store, $DOCKER_CONFIG or ~/.docker: every
// CLI a test file starts (they inherit this environment) gets a temp one, never the user's.
process.env.DOCKER_CONFIG = mkdtempSync(join(tmpdir(), 'machine-docker-config-'))
removeLater(process.env.DOCKER_CONFIG, 'file')

afterAll(runFileCleanups)
