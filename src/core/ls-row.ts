/** One row of `machine ls`, with docker-machine's template field names (its own module: ls-format and ls-filter both read it). */
export interface LsRow {
  Name: string
  Active: string
  ActiveHost: boolean
  ActiveSwarm: boolean
  DriverName: string
  /** The guest's architecture where the driver records one (qemu's Driver.Arch: x86_64, aarch64), else ''. */
  Arch: string
  State: string
  URL: string
  Swarm: string
  DockerVersion: string
  Error: string
  ResponseTime: string
  SwarmOptions: string
  EngineOptions: string
  /** Not a template field: engine labels, for --filter label=. */
  labels: string[]
  /** Not a template field: set when the config failed to load (row survives filters). */
  loadError?: boolean
}
