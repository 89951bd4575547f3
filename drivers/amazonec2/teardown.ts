/**
 * `machine rm` and the rollback of a failed create: deletes what the journal lists, newest first.
 * Instances (terminate, wait), then the key pair, the swarm rules (once no other instance uses
 * their group) and the security group this machine made. Things
 * that were already gone are fine; what cannot be deleted is listed in the error with the `aws ec2`
 * command to delete it by hand.
 */
import type { DriverLogger, Journal, JournalEntry } from '../../src/driver-kit/contract.js'
import { MachineError, messageOf } from '../../src/driver-kit/errors.js'
import type { Ec2, Instance } from './client.js'
import { codeOf, isGone } from './errors.js'
import { parsePort, type PortRule, ruleName, SWARM_TAG, toGroupPermissions } from './firewall.js'

const WAIT_TERMINATED_MS = 10 * 60_000
/** DependencyViolation retries of a group whose instance's network interface is still being released. */
const GROUP_IN_USE_RETRIES = 10

/** What teardown needs of the driver. */
export interface TeardownContext {
  api: Ec2
  region: string
  log: DriverLogger
  /** The machine's instance, when its config records one. */
  instanceId?: string
  /** The machine's id, as tagged on what it made. */
  machineId: string
  /** The instance, or undefined once EC2 no longer knows it. */
  describe(id: string): Promise<Instance | undefined>
  /** Poll (the driver's interval and signal) until `probe` answers. */
  poll<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T>
  /** One poll interval. */
  pause(): Promise<void>
}

interface Failure {
  what: string
  why: string
  how: string
}

export async function removeMachine(t: TeardownContext, journal: Journal): Promise<void> {
  const failures: Failure[] = []
  const entries = [...journal.entries()].reverse()
  await removeInstances(t, journal, entries, failures)
  const instancesLeft = failures.length > 0
  await removeKeyPairsAndGroups(t, journal, entries, failures, instancesLeft)
  if (failures.length) {
    throw new MachineError('remove-incomplete', `could not delete ${failures.map((f) => `${f.what} (${f.why})`).join('; ')}`, {
      hint: `delete by hand: ${failures.map((f) => f.how).join(' && ')}`,
    })
  }
}

/** Journaled instances, launches that may have happened (found by their token), and the config's. */
async function removeInstances(t: TeardownContext, journal: Journal, entries: JournalEntry[], failures: Failure[]): Promise<void> {
  const region = `--region ${t.region}`
  const targets: { id: string; entry?: JournalEntry }[] = []
  for (const e of entries) {
    if (e.kind === 'instance') targets.push({ id: e.id, entry: e })
    if (e.kind === 'instance-request') {
      try {
        const found = await t.api.describeInstances({ Filters: [{ Name: 'client-token', Values: [e.id] }] })
        const live = found.filter((i) => i.InstanceId && i.State?.Name !== 'terminated')
        for (const i of live) targets.push({ id: i.InstanceId!, entry: e })
        if (!live.length) await journal.forget(e.kind, e.id)
      } catch (err) {
        failures.push({
          what: `instance launched with token ${e.id}`,
          why: messageOf(err),
          how: `aws ec2 describe-instances ${region} --filters Name=client-token,Values=${e.id} (then terminate what it lists)`,
        })
      }
    }
  }
  if (t.instanceId && !targets.some((x) => x.id === t.instanceId)) targets.push({ id: t.instanceId })

  const terminating: string[] = []
  for (const x of targets) {
    try {
      const change = await t.api.terminateInstance(x.id)
      if (change?.CurrentState?.Name !== 'terminated') terminating.push(x.id)
    } catch (e) {
      if (codeOf(e) !== 'InvalidInstanceID.NotFound') {
        failures.push({ what: `instance ${x.id}`, why: messageOf(e), how: `aws ec2 terminate-instances ${region} --instance-ids ${x.id}` })
      }
    }
  }
  for (const id of terminating) {
    if (failures.some((f) => f.what === `instance ${id}`)) continue
    t.log.info(`Waiting for instance ${id} to terminate…`)
    try {
      await t.poll(
        `instance ${id} to terminate`,
        async () => {
          const inst = await t.describe(id)
          return !inst || inst.State?.Name === 'terminated' ? true : undefined
        },
        WAIT_TERMINATED_MS,
      )
    } catch (e) {
      failures.push({ what: `instance ${id}`, why: messageOf(e), how: `aws ec2 terminate-instances ${region} --instance-ids ${id}` })
    }
  }
  for (const x of targets) {
    if (failures.some((f) => f.what === `instance ${x.id}`)) continue
    if (x.entry) await journal.forget(x.entry.kind, x.entry.id)
    t.log.info(`Terminated instance ${x.id}`)
  }
}

/** Key pairs and security groups this machine made, newest first; groups only once no instance of ours is left. */
async function removeKeyPairsAndGroups(t: TeardownContext, journal: Journal, entries: JournalEntry[], failures: Failure[], instancesLeft: boolean): Promise<void> {
  const region = `--region ${t.region}`
  for (const e of entries) {
    if (e.kind === 'key-pair') {
      try {
        await t.api.deleteKeyPair(e.id)
        await journal.forget(e.kind, e.id)
        t.log.info(`Deleted key pair ${e.id}`)
      } catch (err) {
        if (isGone(err)) await journal.forget(e.kind, e.id)
        else failures.push({ what: `key pair ${e.id}`, why: messageOf(err), how: `aws ec2 delete-key-pair ${region} --key-name ${e.id}` })
      }
    } else if (e.kind === 'swarm-rules') {
      const how = `aws ec2 revoke-security-group-ingress ${region} --group-id ${e.id} --source-group ${e.id} --protocol PROTOCOL --port PORT (for each of ${swarmRulesOf(e).map(ruleName).join(', ')})`
      if (instancesLeft) {
        failures.push({ what: `swarm rules of security group ${e.id}`, why: 'an instance using them could not be terminated', how })
        continue
      }
      try {
        await revokeSwarmRules(t, e)
        await journal.forget(e.kind, e.id)
      } catch (err) {
        failures.push({ what: `swarm rules of security group ${e.id}`, why: messageOf(err), how })
      }
    } else if (e.kind === 'security-group') {
      const gid = typeof e.data?.groupId === 'string' ? e.data.groupId : undefined
      const how = `aws ec2 delete-security-group ${region} --group-id ${gid ?? `<id of ${e.id}>`}`
      if (instancesLeft) {
        failures.push({ what: `security group ${e.id}`, why: 'an instance using it could not be terminated', how })
        continue
      }
      try {
        await deleteSecurityGroup(t, e)
        await journal.forget(e.kind, e.id)
      } catch (err) {
        failures.push({ what: `security group ${e.id}`, why: messageOf(err), how })
      }
    }
  }
}

const swarmRulesOf = (e: JournalEntry): PortRule[] => (Array.isArray(e.data?.rules) ? e.data.rules.map((r) => parsePort(String(r))) : [])

/** Instances other than this machine's in the group that need its swarm rules (tagged so), and are or may again be running. */
async function otherUsers(t: TeardownContext, groupId: string): Promise<string[]> {
  const users = await t.api.describeInstances({
    Filters: [
      { Name: 'instance.group-id', Values: [groupId] },
      { Name: `tag:${SWARM_TAG}`, Values: [groupId] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] },
    ],
  })
  return users.map((i) => i.InstanceId ?? '').filter((id) => id && id !== t.instanceId)
}

/** The swarm rules machine made in a group, revoked once no other instance uses the group. */
export async function revokeSwarmRules(t: TeardownContext, e: JournalEntry): Promise<void> {
  const rules = swarmRulesOf(e)
  const users = await otherUsers(t, e.id)
  if (users.length) {
    t.log.info(`Swarm ports of security group ${e.id} are still needed by ${users.join(', ')}; left in place`)
    return
  }
  try {
    // Matched on protocol, ports and source (a description is no part of a rule's identity).
    await t.api.revokeIngress(e.id, toGroupPermissions(rules, e.id).map((p) => ({ ...p, UserIdGroupPairs: [{ GroupId: e.id }] })))
    t.log.info(`Closed ${rules.map(ruleName).join(', ')} in security group ${e.id}`)
  } catch (err) {
    // The group or the rules are already gone.
    if (!isGone(err) && codeOf(err) !== 'InvalidPermission.NotFound') throw err
  }
}

async function deleteSecurityGroup(t: TeardownContext, e: JournalEntry): Promise<void> {
  let gid = typeof e.data?.groupId === 'string' ? e.data.groupId : undefined
  if (!gid) {
    // Interrupted between CreateSecurityGroup and the journal update: find it by name + our tag.
    const vpcId = typeof e.data?.vpcId === 'string' ? e.data.vpcId : undefined
    const machineId = typeof e.data?.machineId === 'string' ? e.data.machineId : t.machineId
    const found = await t.api.describeSecurityGroups({
      Filters: [
        { Name: 'group-name', Values: [e.id] },
        { Name: 'tag:machine-id', Values: [machineId] },
        ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
      ],
    })
    gid = found[0]?.GroupId
    if (!gid) return
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await t.api.deleteSecurityGroup(gid)
      t.log.info(`Deleted security group ${e.id} (${gid})`)
      return
    } catch (err) {
      if (isGone(err)) return
      if (codeOf(err) !== 'DependencyViolation') throw err
      // Still attached: either to other machines sharing the group (leave it) or to our
      // instance's network interface that EC2 is still releasing (try again shortly).
      const users = await t.api.describeInstances({
        Filters: [
          { Name: 'instance.group-id', Values: [gid] },
          { Name: 'instance-state-name', Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] },
        ],
      })
      if (users.length) {
        t.log.info(`Security group ${e.id} (${gid}) is still used by ${users.map((i) => i.InstanceId).join(', ')}; left in place`)
        return
      }
      if (attempt >= GROUP_IN_USE_RETRIES) throw err
      await t.pause()
    }
  }
}
