/** `machine prune` through the built CLI where no cloud is reached: which clouds it asks, and refusals. */
import { describe, expect, it } from 'vitest'
import { runCli, tempStore } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

/** No cloud credentials of any kind: a fresh HOME, and the variables unset. */
async function bareEnv(): Promise<NodeJS.ProcessEnv> {
  const home = await tempDir('prune-home-')
  const env: NodeJS.ProcessEnv = { HOME: home, CLOUDSDK_CONFIG: home, AWS_EC2_METADATA_DISABLED: 'true', METADATA_SERVER_DETECTION: 'none' }
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'GOOGLE_APPLICATION_CREDENTIALS', 'AZURE_SUBSCRIPTION_ID']) env[k] = ''
  return env
}

describe('machine prune (built CLI)', () => {
  it('without -d and without credentials: one line, exit 0, no cloud asked', async () => {
    const r = await runCli(['prune'], { store: await tempStore(), env: await bareEnv() })
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout).toBe('Nothing to prune: no cloud credentials are set up here (pass -d amazonec2, google or azure to ask one anyway)\n')
  })

  it('-d with a driver that makes nothing in a cloud: one line naming the clouds, non-zero exit', async () => {
    const r = await runCli(['prune', '-d', 'qemu'], { store: await tempStore(), env: await bareEnv() })
    expect(r.code).not.toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim()).toBe('Error: The qemu driver makes nothing in a cloud account: prune has nothing to list: pass -d with one of amazonec2, google, azure')
  })

  it('-d azure without a subscription: the missing option, in one line', async () => {
    const r = await runCli(['prune', '-d', 'azure'], { store: await tempStore(), env: await bareEnv() })
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim()).toMatch(/^Error: --azure-subscription-id is required for the azure driver/)
  })
})
