import { resolve } from 'node:path'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { lastLine, MachineError } from '../core/errors.js'
import { isValidMachineName, showName } from '../core/names.js'
import { programName } from '../core/program-name.js'
import { openMachine, requireRunning, requireSshAccess } from '../services/machine.js'
import { checkMountpoint, findProgram, isMountPoint, prepareMountpoint, removeCreatedMountpoint, runProgram, unmountProgram } from '../services/mount.js'
import { sshTarget } from '../services/provision.js'

export default class Mount extends BaseCommand {
  static override summary = 'Mount a directory of a machine locally with sshfs, or unmount it (-u)'
  static override description = [
    'Runs the local sshfs with the host key pinned for this machine (strict checking, the same known_hosts file as "ssh" and "scp"), so the directory is mounted only from the real host.',
    'Without a machine part the machine is "default"; without a mount point the remote path is used as the local one. A missing mount point is created when its parent directory exists.',
    'With -u only the mount point matters: it is unmounted with fusermount3/fusermount (Linux) or umount (macOS).',
    'Needs sshfs (Debian/Ubuntu: apt-get install sshfs; macOS: macFUSE and sshfs).',
  ].join('\n')
  static override examples = [
    '<%= config.bin %> mount dev:/srv/app ./app',
    '<%= config.bin %> mount dev:/var/log/app /tmp/dev-logs',
    '<%= config.bin %> mount -u ./app',
  ]
  static override args = {
    source: Args.string({ required: true, description: '[[user@]NAME:][path]: the remote directory (NAME defaults to "default")' }),
    mountpoint: Args.string({ required: false, description: 'local directory (default: the remote path)' }),
  }
  static override flags = {
    unmount: Flags.boolean({ char: 'u', description: 'unmount instead of mount' }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parseArgs(Mount)
    const ssh = await import('../ssh/index.js')
    const src = ssh.parseMountSource(args.source)
    const given = args.mountpoint ?? src.path
    if (!given) throw new MachineError('usage', 'No mount point given and no remote path to use as one', { hint: 'pass a local directory as the second argument' })
    const mountpoint = resolve(given)
    if (flags.unmount) return this.unmount(mountpoint)

    if (!ssh.splitRemote(args.source)) await this.requireSourceForm(args.source, src.machine)
    const m = await openMachine(this.store, src.machine, { config: this.config, log: { info: () => {}, debug: (l) => this.out.debug(l) } })
    requireSshAccess(m)
    const sshfs = await findProgram('sshfs')
    if (!sshfs) throw new MachineError('sshfs-missing', 'sshfs is not installed', { hint: 'install sshfs (apt-get install sshfs; macOS: macFUSE + sshfs)' })
    // Local problems first (no network); the directory itself is made only right before sshfs.
    await checkMountpoint(mountpoint)
    await requireRunning(m, 'mount')
    const target = { ...sshTarget(this.store, src.machine, await m.driver.sshInfo()), ...(src.user ? { user: src.user } : {}) }
    // Pin (or check the pin) and log in once ourselves: a changed host key, a refused key or an
    // unreachable host get the same one-line errors as `machine ssh` (sshfs hides ssh's own
    // messages once it runs in the background). sshfs then checks the pin again itself.
    await ssh.ensurePinnedForSystemSsh(target, { timeoutMs: 20_000 })
    ;(await ssh.connectSsh(target, { timeoutMs: 20_000 })).close()

    const { created } = await prepareMountpoint(mountpoint)
    const r = await runProgram(sshfs, ssh.systemSshfsArgs(target, src.path, mountpoint))
    if (r.code !== 0 || !(await isMountPoint(mountpoint))) {
      if (created) await removeCreatedMountpoint(mountpoint)
      const why = lastLine(r.stderr)
      throw new MachineError('sshfs-failed', `sshfs exited with code ${r.code}${why ? `: ${why}` : ''}`, { exitCode: r.code || 1 })
    }
    this.out.debug(`mounted ${src.machine}:${src.path} on ${mountpoint}`)
    return this.jsonEnabled() ? { mounted: true, machine: src.machine, path: src.path, mountpoint } : undefined
  }

  /**
   * A source without "NAME:" means a path on "default". When the user wrote a machine's name
   * (`mount dev ./dir`), or there is no "default", say how to write the source instead of
   * reporting a missing "default".
   */
  private async requireSourceForm(source: string, machine: string): Promise<void> {
    const bin = programName()
    // `../x:/srv`, `.:/srv`, `:/srv`: meant as NAME:PATH, with a name that cannot be one (a
    // traversal, or none). Refused as such, never taken as a path on "default". An absolute
    // path with a colon (`/srv/a:b`) stays a path on "default".
    if (source.includes(':') && !source.startsWith('/')) {
      const name = source.slice(0, source.indexOf(':')).replace(/^[^@/:]+@/, '')
      throw new MachineError('invalid-name', `Invalid machine name ${showName(name)} in the source ${showName(source)}`, {
        hint: `write the source as NAME:PATH with a machine's name ("${bin} ls" lists them), e.g. "${bin} mount NAME:/srv/app ./app"`,
      })
    }
    if (isValidMachineName(source) && source !== machine && (await this.store.exists(source))) {
      throw new MachineError('usage', `"${source}" is a machine, and the source is a remote path`, { hint: `write "${bin} mount ${source}:PATH DIR" (PATH empty: the login directory)` })
    }
    if (!(await this.store.exists(machine))) {
      throw new MachineError('usage', `No machine in the source ${showName(source)}, and no "${machine}" machine exists`, { hint: `write the source as NAME:PATH, e.g. "${bin} mount NAME:/srv/app ./app"` })
    }
  }

  private async unmount(mountpoint: string): Promise<unknown> {
    if (!(await isMountPoint(mountpoint))) throw new MachineError('not-mounted', `${mountpoint} is not mounted`, { hint: 'nothing to unmount (see "mount" for what is mounted)' })
    const { program, args } = await unmountProgram()
    const r = await runProgram(program, args(mountpoint))
    if (r.code !== 0) {
      const why = lastLine(r.stderr)
      throw new MachineError('unmount-failed', `${program} exited with code ${r.code}${why ? `: ${why}` : ''}`, {
        hint: /busy/i.test(why) ? 'close the shells and programs using files under it, then retry' : undefined,
        exitCode: r.code || 1,
      })
    }
    return this.jsonEnabled() ? { unmounted: true, mountpoint } : undefined
  }
}
