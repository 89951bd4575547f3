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
 */
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

/** bootcmd (argv form) that writes the drop-in where containerd.service exists; before the engine bootstrap's daemon-reload. */
export const containerdDropInBootcmd = (): string[] => dropInBootcmd('containerd.service', CONTAINERD_DROP_IN, CONTAINERD_DROP_IN_TEXT)

/** bootcmd after the engine bootstrap: start containerd now (its queued start job no longer waits for cloud-init). */
export const START_CONTAINERD_BOOTCMD = ['sh', '-c', '[ -f /lib/systemd/system/containerd.service ] && systemctl start --no-block containerd.service; true']
