import { randomBytes } from 'node:crypto'
import { MachineError } from '../../src/driver-kit/errors.js'
import { cloudInitConfig, parseUserCloudConfig, renderCloudConfig, type CloudInitOptions } from '../../src/driver-kit/cloud-init.js'

/** EC2 refuses user data over 16 KiB (before base64). */
export const MAX_USER_DATA = 16 * 1024

/** MIME types cloud-init understands, by the first line of a part. */
function partType(text: string): string | undefined {
  if (text.startsWith('#cloud-config')) return 'text/cloud-config'
  if (text.startsWith('#!')) return 'text/x-shellscript'
  if (text.startsWith('#cloud-boothook')) return 'text/cloud-boothook'
  if (text.startsWith('#include')) return 'text/x-include-url'
  return undefined
}

function multipart(parts: { type: string; body: string; mergeType?: string }[]): string {
  let boundary = `MACHINE-${randomBytes(12).toString('hex')}`
  while (parts.some((p) => p.body.includes(boundary))) boundary = `MACHINE-${randomBytes(12).toString('hex')}`
  const out = [`Content-Type: multipart/mixed; boundary="${boundary}"`, 'MIME-Version: 1.0', '']
  parts.forEach((p, i) => {
    out.push(`--${boundary}`, `Content-Type: ${p.type}; charset="utf-8"`, 'MIME-Version: 1.0')
    if (p.mergeType) out.push(`Merge-Type: ${p.mergeType}`)
    out.push(`Content-Disposition: attachment; filename="part-${i + 1}"`, '', p.body.endsWith('\n') ? p.body.slice(0, -1) : p.body)
  })
  out.push(`--${boundary}--`, '')
  return out.join('\n')
}

/**
 * The instance's user data: our cloud-config (login user + key, hostname, pinned host key) merged
 * with what the user gave in --amazonec2-userdata.
 *  - JSON cloud-config is merged into ours as one document (their keys win except users/ssh keys).
 *  - YAML cloud-config becomes a first MIME part; ours follows with a Merge-Type that appends
 *    lists (their users stay, ours is added) and lets our scalar keys win (host key, hostname).
 *  - Scripts, boothooks and #include files become extra MIME parts cloud-init runs as usual.
 */
export function composeUserData(ours: Omit<CloudInitOptions, 'extra'>, userText?: string): string {
  let data: string
  if (userText === undefined || userText.trim() === '') {
    data = renderCloudConfig(cloudInitConfig(ours))
  } else {
    const text = userText.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n')
    const type = partType(text)
    if (!type) {
      throw new MachineError('invalid-userdata', 'the --amazonec2-userdata file is neither #cloud-config nor a #! script', {
        hint: 'start the file with "#cloud-config" or a "#!" interpreter line',
      })
    }
    const json = type === 'text/cloud-config' ? parseUserCloudConfig(text) : undefined
    if (json) {
      data = renderCloudConfig(cloudInitConfig({ ...ours, extra: json }))
    } else {
      const mine = { type: 'text/cloud-config', body: renderCloudConfig(cloudInitConfig(ours)) }
      data =
        type === 'text/cloud-config'
          ? multipart([{ type, body: text }, { ...mine, mergeType: 'list(append)+dict(recurse_array)+str()' }])
          : multipart([mine, { type, body: text }])
    }
  }
  const size = Buffer.byteLength(data)
  if (size > MAX_USER_DATA) {
    throw new MachineError('invalid-userdata', `user data is ${size} bytes, over EC2's limit of ${MAX_USER_DATA}`, {
      hint: 'shorten the --amazonec2-userdata file, or have it download a larger script (#include or curl)',
    })
  }
  return data
}
