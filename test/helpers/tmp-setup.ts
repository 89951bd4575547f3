// A vitest setup file (vitest.config.ts): after each test file, run the clean-ups its tests registered
// outside a test (tempDir()/tempStore() directories, servers; see tmp.ts), even when tests failed.
import { afterAll } from 'vitest'
import { runFileCleanups } from './tmp.js'

afterAll(runFileCleanups)
