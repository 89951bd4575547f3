import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { driverFlags } from '../cli/driver-flags.js'
import { driverFromArgv } from '../cli/help.js'
import { programName } from '../core/program-name.js'
import { interrupted } from '../driver-kit/wait.js'
import { DEFAULT_INSTALL_URL } from '../core/host-config.js'
import { BUILTIN_DRIVERS } from '../registry/builtin.js'
import { getDriverDefinition } from '../registry/index.js'
import { createMachine, type CreateInput } from '../services/create.js'
import { throwIfAnyFailed } from '../services/each-machine.js'
import type { Reporter } from '../services/reporter.js'
import { parallelFlag } from '../cli/parallel-flag.js'
import { MachineError } from '../core/errors.js'
import { checkParallelFlag, settleAll } from '../core/parallel.js'
import { createNames } from '../services/create-names.js'

// Built-in drivers' option lists (no SDK is imported by these) become create's flags, so
// `create --help` documents them and parsing is strict.
const builtinDefs = await Promise.all(Object.values(BUILTIN_DRIVERS).map((load) => load()))
const builtinDriverFlags = Object.assign({}, ...builtinDefs.map(driverFlags)) as Record<string, any>

const sharedFlags = {
  driver: Flags.string({ char: 'd', env: 'MACHINE_DRIVER', default: 'qemu', description: `driver: ${Object.keys(BUILTIN_DRIVERS).join(', ')} or a plugin's` }),
  'engine-install-url': Flags.string({ env: 'MACHINE_DOCKER_INSTALL_URL', default: DEFAULT_INSTALL_URL, description: 'script that installs Docker when the host has none ("none": never install)' }),
  'engine-opt': Flags.string({ multiple: true, multipleNonGreedy: true, description: 'extra dockerd flag, name=value (repeatable)' }),
  'engine-insecure-registry': Flags.string({ multiple: true, multipleNonGreedy: true, description: 'insecure registry for the engine (repeatable)' }),
  'engine-registry-mirror': Flags.string({ multiple: true, multipleNonGreedy: true, env: 'ENGINE_REGISTRY_MIRROR', description: 'registry mirror for the engine (repeatable)' }),
  'engine-label': Flags.string({ multiple: true, multipleNonGreedy: true, description: 'engine label key=value (repeatable)' }),
  'engine-storage-driver': Flags.string({ description: 'engine storage driver [default: the engine’s own choice]' }),
  'engine-env': Flags.string({ multiple: true, multipleNonGreedy: true, description: 'environment variable for the engine, NAME=value (repeatable)' }),
  'tls-san': Flags.string({ multiple: true, multipleNonGreedy: true, description: 'extra name or IP for the server certificate (repeatable)' }),
  'no-docker-context': Flags.boolean({ description: 'make no docker context for the machine (the store-wide setting: docs/contexts.md)' }),
  'keep-on-failure': Flags.boolean({ description: 'keep what was made when create fails, for debugging (remove it later with rm)' }),
  count: Flags.string({ description: 'create this many machines named NAME-1, NAME-2, … (numbering goes on after existing ones)' }),
  ...parallelFlag,
  // docker-machine's swarm flags, in swarm mode's meaning (core/swarm-flags.ts, docs/clusters.md).
  // Classic Swarm's own flags are hidden from --help (they mean nothing in swarm mode) but still
  // accepted, so an old script gets one line saying what to use instead, not "unknown flag".
  'swarm-master': Flags.boolean({ helpGroup: 'SWARM', description: 'start a swarm with this machine as its manager (with --swarm-cluster: join that swarm as a manager)' }),
  swarm: Flags.boolean({ helpGroup: 'SWARM', description: 'join the swarm of this store (the only one, or --swarm-cluster) as a worker' }),
  'swarm-cluster': Flags.string({ helpGroup: 'SWARM', description: 'machine whose swarm to join (implies --swarm)' }),
  'swarm-addr': Flags.string({ helpGroup: 'SWARM', description: 'address to advertise to the swarm [default: the driver’s cluster address, else the machine IP]' }),
  'swarm-discovery': Flags.string({ helpGroup: 'SWARM', hidden: true, description: 'classic Swarm only: refused (token:// discovery no longer exists); use --swarm-cluster' }),
  'swarm-image': Flags.string({ helpGroup: 'SWARM', hidden: true, env: 'MACHINE_SWARM_IMAGE', description: 'classic Swarm only: ignored (swarm mode is in the engine)' }),
  'swarm-strategy': Flags.string({ helpGroup: 'SWARM', hidden: true, description: 'classic Swarm only: ignored (use deploy.placement in the Compose file)' }),
  'swarm-host': Flags.string({ helpGroup: 'SWARM', hidden: true, description: 'classic Swarm only: ignored (env --swarm points at a manager’s engine)' }),
  'swarm-opt': Flags.string({ helpGroup: 'SWARM', hidden: true, multiple: true, multipleNonGreedy: true, description: 'classic Swarm only: refused (use "docker swarm update")' }),
  'swarm-join-opt': Flags.string({ helpGroup: 'SWARM', hidden: true, multiple: true, multipleNonGreedy: true, description: 'classic Swarm only: refused' }),
  'swarm-experimental': Flags.boolean({ helpGroup: 'SWARM', hidden: true, description: 'classic Swarm only: ignored (use --engine-opt experimental=true)' }),
}

export default class Create extends BaseCommand {
  static override summary = 'Create a machine: a VM or host with a TLS-secured Docker engine'
  static override description =
    'Validates every flag first, then creates the host with the chosen driver, provisions the Docker engine over one SSH connection (installing it only if missing), and secures it with TLS client certificates. If anything fails or you press Ctrl-C, what was made is removed again. It then writes a docker context named after the machine (docker --context NAME …; docs/contexts.md) unless --no-docker-context or the store\'s settings.json says not to. docker-machine\'s classic Swarm flags (--swarm-discovery, --swarm-image, --swarm-strategy, …) are accepted and answered with one line each (docs/clusters.md).'
  static override examples = [
    '<%= config.bin %> create -d qemu dev',
    '<%= config.bin %> create -d generic --generic-ip-address 203.0.113.7 --generic-ssh-user ubuntu --generic-ssh-key ~/.ssh/id_ed25519 web1',
    '<%= config.bin %> create -d none --url tcp://127.0.0.1:2376 existing',
    '<%= config.bin %> create -d qemu --swarm-master s1',
    '<%= config.bin %> create -d qemu --swarm s2',
    '<%= config.bin %> create -d amazonec2 web1 web2 web3',
    '<%= config.bin %> create -d qemu --count 3 --swarm node',
  ]
  // Several names create several machines at once (--parallel at a time); strict is off for
  // that, so create checks itself that no unknown flag ended up among the names.
  static override strict = false
  static override args = { name: Args.string({ required: true, description: 'machine name (letters, digits, "." and "-"); several names create several machines' }) }
  static override flags = { ...sharedFlags, ...builtinDriverFlags }

  async run(): Promise<unknown> {
    // A plugin driver's flags are only known once we know which driver is asked for.
    const wanted = driverFromArgv(this.argv) ?? process.env.MACHINE_DRIVER ?? 'qemu'
    let cmd = Create
    if (!(wanted in BUILTIN_DRIVERS)) {
      const def = await getDriverDefinition(wanted, this.config)
      cmd = class extends Create {
        // oclif's parse() spreads the class's own properties: args must be own ones too, or a
        // plugin driver's create refuses its NAME as an unexpected argument.
        static override args = Create.args
        static override strict = Create.strict
        static override flags = { ...Create.flags, ...driverFlags(def) }
      }
    }
    const { argv, flags } = await this.parseArgs(cmd)
    const f = flags as Record<string, unknown> & typeof flags
    const names = await createNames(this.store, argv as string[], f.count)
    const parallel = checkParallelFlag(f.parallel)
    if (names.length > 1 && f['swarm-master'] && !f['swarm-cluster']) {
      throw new MachineError('invalid-swarm-flags', '--swarm-master starts one swarm: it cannot make several machines at once', {
        hint: `create the manager first ("create --swarm-master ${names[0]}"), then the others with --swarm (or --swarm-cluster ${names[0]} --swarm-master for more managers)`,
      })
    }
    const controller = new AbortController()
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(130)
      this.out.note('Interrupted: rolling back (press Ctrl-C again to quit at once)')
      controller.abort(interrupted())
    }
    process.on('SIGINT', onSigint)
    process.on('SIGTERM', onSigint)
    const input = (name: string, reporter: Reporter): CreateInput => ({
        name,
        driver: f.driver,
        flags: f,
        engine: {
          InstallURL: f['engine-install-url'],
          ArbitraryFlags: f['engine-opt'] ?? [],
          InsecureRegistry: f['engine-insecure-registry'] ?? [],
          RegistryMirror: f['engine-registry-mirror'] ?? [],
          Labels: f['engine-label'] ?? [],
          StorageDriver: f['engine-storage-driver'] ?? '',
          Env: f['engine-env'] ?? [],
        },
        tlsSans: f['tls-san'] ?? [],
        auth: {
          CaCertPath: f['tls-ca-cert'],
          CaPrivateKeyPath: f['tls-ca-key'],
          ClientCertPath: f['tls-client-cert'],
          ClientKeyPath: f['tls-client-key'],
        },
        keepOnFailure: f['keep-on-failure'],
        dockerContext: !f['no-docker-context'],
        swarm: f,
        config: this.config,
        reporter,
        signal: controller.signal,
      })
    try {
      if (names.length === 1) {
        const result = await createMachine(this.store, input(names[0]!, this.reporter))
        if (this.jsonEnabled()) return result
        this.out.info(`To point your Docker client at it, run: eval "$(${programName()} env ${names[0]})"`)
        return undefined
      }
      // Several: each with its own lines and spinner; a failed one is rolled back by its own
      // create while the others go on; the errors are reported together at the end.
      this.out.info(`Creating ${names.length} machines (${Math.min(parallel, names.length)} at a time): ${names.join(', ')}`)
      const started = Date.now()
      const settled = await settleAll(names, parallel, async (name) => {
        const t = Date.now()
        const r = await createMachine(this.store, input(name, this.reporter.scoped(name)))
        this.out.info(`${name}: created (${((Date.now() - t) / 1000).toFixed(1)}s)`)
        return r
      })
      const created = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
      if (created.length) this.out.info(`Created ${created.map((c) => c.name).join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)}s. To point your Docker client at one, run: eval "$(${programName()} env ${created[0]!.name})"`)
      throwIfAnyFailed(names, settled, 'the failed ones were rolled back; run create again for them')
      return this.jsonEnabled() ? { created } : undefined
    } finally {
      process.off('SIGINT', onSigint)
      process.off('SIGTERM', onSigint)
    }
  }
}
