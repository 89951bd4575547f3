import { DROP_IN, HAS_CONTAINERD_UNIT, REMOTE_CA, REMOTE_CERT, REMOTE_KEY } from './engine-config.js'

/** Where the engine bootstrap puts the path of dockerd, which is only known on the host. */
export const DOCKERD_PLACEHOLDER = '@DOCKERD@'

const b64 = (s: string): string => Buffer.from(s).toString('base64')

/**
 * A first-boot command (cloud-init bootcmd) that writes the engine's CA, server certificate and
 * key, and the dockerd drop-in, byte for byte as the provisioner would, before docker.service
 * first starts. The engine then comes up with TLS at once, and provisioning finds nothing to
 * change: no second engine start. `cloud-init-per instance` runs it once, so a later
 * `regenerate-certs` is not undone by a reboot. Without dockerd (an image without Docker) it
 * does nothing and provisioning installs everything as usual.
 */
export function engineBootstrapCommand(f: BootstrapFiles): string {
  return `command -v cloud-init-per >/dev/null 2>&1 && cloud-init-per instance machine-engine-config sh -c '${engineBootstrapScript(f)}' || true`
}

export interface BootstrapFiles {
  caCert: string
  serverCert: string
  serverKey: string
  /** The drop-in rendered with DOCKERD_PLACEHOLDER for the dockerd path, without and with containerd's socket (EngineConfigInput.containerd). */
  dropIn: string
  dropInContainerd: string
}

/** The shell script itself (no single quotes in it: it is wrapped in '…' above). */
export function engineBootstrapScript(f: BootstrapFiles): string {
  return [
    'd=$(command -v dockerd) || exit 0',
    'umask 022',
    `mkdir -p /etc/docker ${DROP_IN.slice(0, DROP_IN.lastIndexOf('/'))}`,
    `echo ${b64(f.caCert)} | base64 -d > ${REMOTE_CA}`,
    `echo ${b64(f.serverCert)} | base64 -d > ${REMOTE_CERT}`,
    `(umask 077; echo ${b64(f.serverKey)} | base64 -d > ${REMOTE_KEY})`,
    // The one provisioning renders for this host: with containerd's socket where it is a service.
    `if ${HAS_CONTAINERD_UNIT}; then echo ${b64(f.dropInContainerd)}; else echo ${b64(f.dropIn)}; fi | base64 -d | sed "s|${DOCKERD_PLACEHOLDER}|$d|" > ${DROP_IN}`,
    // systemd read its units before cloud-init ran: make it see the drop-in before docker starts.
    'systemctl daemon-reload',
  ].join('\n')
}
