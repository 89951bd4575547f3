/**
 * A cloud-init bootcmd (argv form: no YAML or shell quoting of the text) that writes a systemd
 * drop-in `text` to `path` on guests that have `unit` (under /lib/systemd/system); others are left
 * alone. Put before the engine bootstrap, whose daemon-reload makes systemd read it on the first boot.
 */
export function dropInBootcmd(unit: string, path: string, text: string): string[] {
  const dir = path.slice(0, path.lastIndexOf('/'))
  const b64 = Buffer.from(text).toString('base64')
  return ['sh', '-c', `[ -f /lib/systemd/system/${unit} ] || exit 0; mkdir -p ${dir} && echo ${b64} | base64 -d > ${path}`]
}
