/**
 * The VM's custom data (cloud-init user data): our cloud-config (user, SSH key, pinned host key),
 * merged with what the user gave in --azure-custom-data instead of replaced by it.
 */
import { randomBytes } from 'node:crypto'
import { cloudInitConfig, parseUserCloudConfig, renderCloudConfig, type CloudInitOptions } from '../../src/driver-kit/cloud-init.js'
import { MachineError } from '../../src/driver-kit/errors.js'

/** Azure refuses custom data over 64 KiB (before base64). */
export const MAX_CUSTOM_DATA_BYTES = 65535

const partType = (text: string): string | undefined => {
  if (text.startsWith('#cloud-config')) return 'text/cloud-config'
  if (text.startsWith('#!')) return 'text/x-shellscript'
  if (text.startsWith('#cloud-boothook')) return 'text/cloud-boothook'
  return undefined
}

/**
 * JSON cloud-config is merged key by key (ours win for users/ssh keys). Anything else (YAML
 * cloud-config, a shell script) becomes its own MIME part placed BEFORE ours: cloud-init merges
 * cloud-config parts in order, so for any key both set, ours (later) wins and the login keeps working.
 */
export function buildCustomData(base: CloudInitOptions, userText?: string): string {
  if (userText === undefined || userText.trim() === '') return renderCloudConfig(cloudInitConfig(base))
  const json = parseUserCloudConfig(userText)
  let out: string
  if (json) {
    out = renderCloudConfig(cloudInitConfig({ ...base, extra: json }))
  } else {
    const type = partType(userText)
    if (!type) {
      throw new MachineError(
        'invalid-option',
        '--azure-custom-data: the file must start with #cloud-config, #! (a script) or #cloud-boothook',
      )
    }
    const boundary = `==machine-${randomBytes(8).toString('hex')}==`
    const part = (t: string, body: string) =>
      `--${boundary}\nContent-Type: ${t}; charset="utf-8"\nMIME-Version: 1.0\n\n${body.endsWith('\n') ? body : `${body}\n`}`
    out =
      `Content-Type: multipart/mixed; boundary="${boundary}"\nMIME-Version: 1.0\n\n` +
      part(type, userText) +
      part('text/cloud-config', renderCloudConfig(cloudInitConfig(base))) +
      `--${boundary}--\n`
  }
  if (Buffer.byteLength(out) > MAX_CUSTOM_DATA_BYTES) {
    throw new MachineError(
      'invalid-option',
      `--azure-custom-data: the user data comes to ${Buffer.byteLength(out)} bytes; Azure accepts at most ${MAX_CUSTOM_DATA_BYTES}`,
    )
  }
  return out
}
