/**
 * --google-use-existing: no instance is made; the named one gets the firewall rule's tag, our SSH
 * key and our labels (adopt), and rm takes exactly those away again and leaves it (release).
 */
import { randomUUID } from 'node:crypto'
import type { Journal, JournalEntry } from '../../src/driver-kit/contract.js'
import { LABEL_FIREWALL, LABEL_ID, LABEL_NAME, sshKeysLine } from './config.js'
import type { GoogleSession } from './session.js'

/** Tag the instance for the firewall, add our key and labels; journaled first, undone on rm. */
export async function adoptExisting(s: GoogleSession, journal: Journal, p: string, rule: string, publicKey: string, signal: AbortSignal): Promise<void> {
  const { name, c } = s
  const z = s.zone
  const inst = await s.getInstance(p, signal)
  const line = sshKeysLine(s.o.username, publicKey)
  const tags = inst.tags?.items ?? []
  await journal.record({ kind: 'instance-config', id: name, data: { project: p, zone: z, tag: rule, addedTag: !tags.includes(rule), sshKey: line } })
  const where = { project: p, zone: z }
  if (!tags.includes(rule)) {
    await s.run(`tag instance ${name}`, (g) => g.setTags(p, z, name, [...tags, rule], String(inst.tags?.fingerprint ?? ''), randomUUID()), where, signal)
  }
  const items = inst.metadata?.items ?? []
  const current = items.find((i) => i.key === 'ssh-keys')?.value ?? ''
  if (!current.split('\n').includes(line)) {
    const value = current ? `${current.replace(/\n+$/, '')}\n${line}` : line
    const metadata = { fingerprint: inst.metadata?.fingerprint ?? null, items: [...items.filter((i) => i.key !== 'ssh-keys'), { key: 'ssh-keys', value }] }
    await s.run(`add the SSH key to instance ${name}`, (g) => g.setMetadata(p, z, name, metadata, randomUUID()), where, signal)
  }
  const labels = { ...(inst.labels ?? {}), [LABEL_NAME]: name, [LABEL_ID]: String(c.MachineId), [LABEL_FIREWALL]: rule }
  await s.run(`label instance ${name}`, (g) => g.setLabels(p, z, name, labels, String(inst.labelFingerprint ?? ''), randomUUID()), where, signal)
  if (inst.id) c.InstanceId = String(inst.id)
}

/** Undo adoptExisting: our tag, key and labels go; the instance stays. */
export async function releaseExisting(s: GoogleSession, e: JournalEntry): Promise<void> {
  const { p, z } = s.scopeOf(e)
  const where = { project: p, zone: z }
  const inst = await s.find(`read instance ${e.id}`, (g) => g.getInstance(p, z, e.id))
  if (!inst) return
  const tag = String(e.data?.tag ?? '')
  const tags = inst.tags?.items ?? []
  if (e.data?.addedTag && tags.includes(tag)) {
    await s.run(`untag instance ${e.id}`, (g) => g.setTags(p, z, e.id, tags.filter((t) => t !== tag), String(inst.tags?.fingerprint ?? ''), randomUUID()), where)
  }
  const items = inst.metadata?.items ?? []
  const keys = items.find((i) => i.key === 'ssh-keys')?.value ?? ''
  const line = String(e.data?.sshKey ?? '')
  if (line && keys.split('\n').includes(line)) {
    const rest = keys.split('\n').filter((l) => l !== line && l.trim())
    const metadata = {
      fingerprint: inst.metadata?.fingerprint ?? null,
      items: [...items.filter((i) => i.key !== 'ssh-keys'), ...(rest.length ? [{ key: 'ssh-keys', value: rest.join('\n') }] : [])],
    }
    await s.run(`remove the SSH key from instance ${e.id}`, (g) => g.setMetadata(p, z, e.id, metadata, randomUUID()), where)
  }
  const labels = { ...(inst.labels ?? {}) }
  if (LABEL_ID in labels || LABEL_FIREWALL in labels || LABEL_NAME in labels) {
    delete labels[LABEL_ID]
    delete labels[LABEL_FIREWALL]
    delete labels[LABEL_NAME]
    await s.run(`unlabel instance ${e.id}`, (g) => g.setLabels(p, z, e.id, labels, String(inst.labelFingerprint ?? ''), randomUUID()), where)
  }
}
