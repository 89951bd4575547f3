import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start real sshd, QEMU and CLI processes: run files in parallel, but not too many on 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // no-network: loopback only; tmp-setup: temp directories go when their file is done.
    setupFiles: ['test/helpers/no-network.ts', 'test/helpers/tmp-setup.ts'],
  },
})
