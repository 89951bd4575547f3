/**
 * The engine's first start, made earlier. On the test image (Debian 12) under TCG the guest's SSH
 * is up about 4 s after cloud-init.service, but the engine only answers 20-30 s later: every
 * ordinary service waits for sysinit.target, which cloud-init.service comes before, and then
 * containerd takes 12-15 s to start and dockerd, which waits for it, 15-18 s more (measured with
 * `systemd-analyze critical-chain docker.service` and the journal). dockerd must wait for
 * cloud-init (its TLS files come from the seed's bootcmd); containerd needs none of it.
 *
 * So containerd gets a drop-in that orders it after the local file systems and the network only,
 * and is started from the bootcmd (inside cloud-init.service) on the first boot: it comes up
 * while cloud-init works, and dockerd starts at once when cloud-init is done. It keeps a clean
 * stop at shutdown (Conflicts/Before shutdown.target, which default dependencies would give).
 *
 * Then the engine's own start (12-19 s under TCG: the binaries' start, then the default bridge
 * and its iptables rules) ran beside cloud-init's "config" stage, cloud-config.service, which
 * starts when cloud-init.service ends, exactly as the engine does: 6 s of Python start-up and its
 * modules (locale, set_passwords restarting sshd…), 9 s in all, on the same two emulated CPUs.
 * Nothing the engine or SSH needs comes from that stage (users, keys, host keys and the engine's
 * files are all written in cloud-init.service), so it is ordered after docker.service: it runs
 * as soon as the engine has started (or failed to), as cloud-final.service already did, which
 * multi-user.target orders after the engine.
 *
 * And dockerd no longer waits for containerd to be ready before it even starts (docker.service is
 * ordered after containerd.service, which is "started" when it says it is ready: 4-7 s after the
 * bootcmd under TCG, later than cloud-init's end). On the first boot only, a runtime drop-in
 * (/run, gone at the next boot) makes containerd "started" as soon as it runs; dockerd, whose
 * drop-in gives it containerd's socket (EngineConfigInput.containerd), starts when cloud-init
 * ends and waits for the socket itself while it does its own start-up.
 */
import { HAS_CONTAINERD_UNIT } from '../../src/driver-kit/shell.js'
import { dropInBootcmd } from './guest-drop-in.js'

export const CONTAINERD_DROP_IN = '/etc/systemd/system/containerd.service.d/10-machine-early.conf'

export const CONTAINERD_DROP_IN_TEXT = [
  '# Written by machine (qemu driver): start the container runtime beside cloud-init, not after it',
  '# (dockerd still waits for cloud-init, which writes its TLS files).',
  '[Unit]',
  'DefaultDependencies=no',
  'After=local-fs.target network.target systemd-tmpfiles-setup.service',
  'Before=shutdown.target',
  'Conflicts=shutdown.target',
  '',
].join('\n')

export const CLOUD_CONFIG_DROP_IN = '/etc/systemd/system/cloud-config.service.d/10-machine-after-engine.conf'

export const CLOUD_CONFIG_DROP_IN_TEXT = [
  "# Written by machine (qemu driver): cloud-init's config stage waits until the engine has started,",
  '# so it does not share the CPUs with the engine starting (SSH and the engine need nothing from it).',
  '[Unit]',
  'After=docker.service',
  '',
].join('\n')

/** bootcmd that writes the cloud-config drop-in where cloud-config.service exists; before the engine bootstrap's daemon-reload. */
export const cloudConfigDropInBootcmd = (): string[] => dropInBootcmd('cloud-config.service', CLOUD_CONFIG_DROP_IN, CLOUD_CONFIG_DROP_IN_TEXT)

/** bootcmd (argv form) that writes the drop-in where containerd.service exists; before the engine bootstrap's daemon-reload. */
export const containerdDropInBootcmd = (): string[] => dropInBootcmd('containerd.service', CONTAINERD_DROP_IN, CONTAINERD_DROP_IN_TEXT)

export const CONTAINERD_FIRST_BOOT_DROP_IN = '/run/systemd/system/containerd.service.d/10-machine-first-boot.conf'

export const CONTAINERD_FIRST_BOOT_DROP_IN_TEXT = [
  '# Written by machine (qemu driver) for the first boot only: the engine, which waits for the',
  "# socket itself, starts without waiting for containerd to say it is ready.",
  '[Service]',
  'Type=simple',
  '',
].join('\n')

/**
 * bootcmd that writes the first-boot drop-in, once per instance (bootcmd runs at every boot, and a
 * later daemon-reload would read it), and only where the engine bootstrap writes a drop-in that
 * gives dockerd containerd's socket: dockerd and containerd's unit both present. Before the
 * engine bootstrap's daemon-reload.
 */
export function containerdFirstBootBootcmd(): string[] {
  const [sh, c, write] = dropInBootcmd('containerd.service', CONTAINERD_FIRST_BOOT_DROP_IN, CONTAINERD_FIRST_BOOT_DROP_IN_TEXT)
  // The writer's own script has no double quotes: it goes inside "…" as is.
  return [sh!, c!, `command -v dockerd >/dev/null 2>&1 && ${HAS_CONTAINERD_UNIT} && command -v cloud-init-per >/dev/null 2>&1 || exit 0; cloud-init-per instance machine-containerd-first-boot sh -c "${write}"`]
}

/** bootcmd after the engine bootstrap: start containerd now (its queued start job no longer waits for cloud-init). */
export const START_CONTAINERD_BOOTCMD = ['sh', '-c', `${HAS_CONTAINERD_UNIT} && systemctl start --no-block containerd.service; true`]

/**
 * cloud-init's config stage turns SSH password logins off (our `ssh_pwauth: false`) and restarts
 * sshd when that changes the file it keeps them in. Now that the stage runs after the engine has
 * started, that restart would come after create has returned, when a `machine ssh` can be refused.
 * So the setting is written first, before sshd starts, in that file where sshd_config includes
 * sshd_config.d (cloud-init >= 22.3 keeps it in 50-cloud-init.conf there): cloud-init finds nothing
 * to change and restarts nothing. Elsewhere (older images) cloud-init edits sshd_config itself, as
 * before. Only ever turns password logins off. `root` prefixes the paths (tests).
 */
export function sshPasswordOffBootcmd(root = ''): string[] {
  const file = `${root}/etc/ssh/sshd_config.d/50-cloud-init.conf`
  return [
    'sh',
    '-c',
    `grep -qs '^Include /etc/ssh/sshd_config.d/\\*.conf' ${root}/etc/ssh/sshd_config || exit 0; ` +
      `grep -qsx 'PasswordAuthentication no' ${file} && exit 0; ` +
      `mkdir -p ${root}/etc/ssh/sshd_config.d && (umask 077 && echo 'PasswordAuthentication no' >> ${file})`,
  ]
}
