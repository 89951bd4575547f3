/** Parse /etc/os-release (KEY=value, values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (!m) continue
    let v = m[2]!.trim()
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1)
    out[m[1]!] = v.replace(/\\(["$`\\])/g, '$1')
  }
  return out
}

export type OsFamily = 'debian'

/** The provisioner family for an OS, or undefined when we have none for it. */
export function osFamily(os: Record<string, string>): OsFamily | undefined {
  const ids = [os.ID ?? '', ...(os.ID_LIKE ?? '').split(/\s+/)].map((s) => s.toLowerCase())
  if (ids.some((i) => i === 'debian' || i === 'ubuntu')) return 'debian'
  return undefined
}

export const describeOs = (os: Record<string, string>): string => os.PRETTY_NAME || [os.ID, os.VERSION_ID].filter(Boolean).join(' ') || 'an unknown OS'
