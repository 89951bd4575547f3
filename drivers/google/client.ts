/**
 * The only file of the google driver that touches @google-cloud/compute. It builds the REST
 * clients with Application Default Credentials and exposes the few calls the driver makes, as
 * plain functions on plain objects. Errors are thrown as the library throws them; the driver
 * classifies and retries them (errors.ts).
 */
import type { protos } from '@google-cloud/compute'

export type Instance = protos.google.cloud.compute.v1.IInstance
export type Operation = protos.google.cloud.compute.v1.IOperation
export type Firewall = protos.google.cloud.compute.v1.IFirewall
export type Image = protos.google.cloud.compute.v1.IImage
export type Disk = protos.google.cloud.compute.v1.IDisk
export type Address = protos.google.cloud.compute.v1.IAddress
export type Metadata = protos.google.cloud.compute.v1.IMetadata

export interface GceApi {
  getInstance(project: string, zone: string, name: string): Promise<Instance>
  insertInstance(project: string, zone: string, body: Instance, requestId: string): Promise<Operation>
  deleteInstance(project: string, zone: string, name: string, requestId: string): Promise<Operation>
  startInstance(project: string, zone: string, name: string, requestId: string): Promise<Operation>
  resumeInstance(project: string, zone: string, name: string, requestId: string): Promise<Operation>
  stopInstance(project: string, zone: string, name: string, requestId: string, opts?: { discardLocalSsd?: boolean }): Promise<Operation>
  resetInstance(project: string, zone: string, name: string, requestId: string): Promise<Operation>
  setTags(project: string, zone: string, name: string, items: string[], fingerprint: string, requestId: string): Promise<Operation>
  setLabels(project: string, zone: string, name: string, labels: Record<string, string>, fingerprint: string, requestId: string): Promise<Operation>
  setMetadata(project: string, zone: string, name: string, metadata: Metadata, requestId: string): Promise<Operation>
  /** Instances in every zone of the project whose label `key` equals `value`. */
  listInstancesByLabel(project: string, key: string, value: string): Promise<Array<{ zone: string; instance: Instance }>>
  /** Instances and disks in every zone of the project that carry label `key` (every page followed). */
  listLabelled(project: string, key: string): Promise<{ instances: Array<{ zone: string; instance: Instance }>; disks: Array<{ zone: string; disk: Disk }> }>
  getImageFromFamily(project: string, family: string): Promise<Image>
  getAddress(project: string, region: string, name: string): Promise<Address>
  getDisk(project: string, zone: string, name: string): Promise<Disk>
  deleteDisk(project: string, zone: string, name: string, requestId: string): Promise<Operation>
  getFirewall(project: string, name: string): Promise<Firewall>
  insertFirewall(project: string, body: Firewall, requestId: string): Promise<Operation>
  deleteFirewall(project: string, name: string, requestId: string): Promise<Operation>
  /** One `operations/…/wait` call: returns when the operation is DONE or after about two minutes. */
  waitZoneOperation(project: string, zone: string, name: string): Promise<Operation>
  waitGlobalOperation(project: string, name: string): Promise<Operation>
}

export interface ConnectOptions {
  env: NodeJS.ProcessEnv
  /** --google-endpoint: URL or host of a Compute Engine API endpoint. */
  endpoint?: string
}

/**
 * The credential chain is Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS,
 * then `gcloud auth application-default login`'s file, then the metadata server. The library
 * reads process.env itself; when the driver's environment names a different key file (tests,
 * or an embedding program), that file is passed explicitly.
 */
export async function connect(o: ConnectOptions): Promise<GceApi> {
  // The v1 entry point alone: the package index also loads the v1beta and v1small surfaces
  // (about 1.5 s more on every command). The package has no "exports" map, so this path is public.
  const c = await import('@google-cloud/compute/build/src/v1/index.js')
  const base: Record<string, unknown> = { fallback: true }
  if (o.endpoint) {
    const u = new URL(o.endpoint.includes('://') ? o.endpoint : `https://${o.endpoint}`)
    base.apiEndpoint = u.hostname
    base.protocol = u.protocol.replace(':', '')
    if (u.port) base.port = Number(u.port)
  }
  const keyFile = o.env.GOOGLE_APPLICATION_CREDENTIALS
  const first = new c.InstancesClient({ ...base, ...(keyFile && keyFile !== process.env.GOOGLE_APPLICATION_CREDENTIALS ? { keyFilename: keyFile } : {}) })
  // Load the credentials now. Were they missing, every client's lazy initialisation would fail
  // inside the library as an unhandled rejection (which ends a Node process) besides failing
  // the call itself; loading them up front turns that into one ordinary, catchable error.
  await first.auth.getClient()
  // One credential object for every client: loaded (and refreshed) once.
  const opts = { ...base, auth: first.auth }
  const instances = first
  const images = new c.ImagesClient(opts)
  const firewalls = new c.FirewallsClient(opts)
  const disks = new c.DisksClient(opts)
  const addresses = new c.AddressesClient(opts)
  const zoneOps = new c.ZoneOperationsClient(opts)
  const globalOps = new c.GlobalOperationsClient(opts)
  const op = async (p: Promise<[{ latestResponse?: unknown }, ...unknown[]]>): Promise<Operation> => (await p)[0].latestResponse as Operation
  // The driver retries (throttling, 5xx, network) with its own bounded backoff and request ids;
  // the library's retry of idempotent calls would add up to 10 minutes per call on top.
  const co = { timeout: 60_000, retry: null }
  // An operation wait returns by itself after about two minutes.
  const waitCall = { timeout: 180_000, retry: null }

  return {
    getInstance: async (project, zone, instance) => (await instances.get({ project, zone, instance }, co))[0],
    insertInstance: (project, zone, instanceResource, requestId) => op(instances.insert({ project, zone, instanceResource, requestId }, co)),
    deleteInstance: (project, zone, instance, requestId) => op(instances.delete({ project, zone, instance, requestId }, co)),
    startInstance: (project, zone, instance, requestId) => op(instances.start({ project, zone, instance, requestId }, co)),
    resumeInstance: (project, zone, instance, requestId) => op(instances.resume({ project, zone, instance, requestId }, co)),
    stopInstance: (project, zone, instance, requestId, s) =>
      op(instances.stop({ project, zone, instance, requestId, ...(s?.discardLocalSsd ? { discardLocalSsd: true } : {}) }, co)),
    resetInstance: (project, zone, instance, requestId) => op(instances.reset({ project, zone, instance, requestId }, co)),
    setTags: (project, zone, instance, items, fingerprint, requestId) =>
      op(instances.setTags({ project, zone, instance, requestId, tagsResource: { items, fingerprint } }, co)),
    setLabels: (project, zone, instance, labels, labelFingerprint, requestId) =>
      op(instances.setLabels({ project, zone, instance, requestId, instancesSetLabelsRequestResource: { labels, labelFingerprint } }, co)),
    setMetadata: (project, zone, instance, metadataResource, requestId) => op(instances.setMetadata({ project, zone, instance, requestId, metadataResource }, co)),
    async listInstancesByLabel(project, key, value) {
      const out: Array<{ zone: string; instance: Instance }> = []
      // Label values are [a-z0-9_-]: nothing to escape inside the quotes.
      const filter = `labels.${key} = "${value}"`
      for await (const [scope, list] of instances.aggregatedListAsync({ project, filter }, { ...co, autoPaginate: false })) {
        for (const instance of list.instances ?? []) out.push({ zone: scope.replace(/^zones\//, ''), instance })
      }
      return out
    },
    async listLabelled(project, key) {
      const filter = `labels.${key}:*`
      const out: Awaited<ReturnType<GceApi['listLabelled']>> = { instances: [], disks: [] }
      // The async iterators follow nextPageToken themselves.
      for await (const [scope, list] of instances.aggregatedListAsync({ project, filter }, { ...co, autoPaginate: false })) {
        for (const instance of list.instances ?? []) out.instances.push({ zone: scope.replace(/^zones\//, ''), instance })
      }
      for await (const [scope, list] of disks.aggregatedListAsync({ project, filter }, { ...co, autoPaginate: false })) {
        for (const disk of list.disks ?? []) out.disks.push({ zone: scope.replace(/^zones\//, ''), disk })
      }
      return out
    },
    getImageFromFamily: async (project, family) => (await images.getFromFamily({ project, family }, co))[0],
    getAddress: async (project, region, address) => (await addresses.get({ project, region, address }, co))[0],
    getDisk: async (project, zone, disk) => (await disks.get({ project, zone, disk }, co))[0],
    deleteDisk: (project, zone, disk, requestId) => op(disks.delete({ project, zone, disk, requestId }, co)),
    getFirewall: async (project, firewall) => (await firewalls.get({ project, firewall }, co))[0],
    insertFirewall: (project, firewallResource, requestId) => op(firewalls.insert({ project, firewallResource, requestId }, co)),
    deleteFirewall: (project, firewall, requestId) => op(firewalls.delete({ project, firewall, requestId }, co)),
    waitZoneOperation: async (project, zone, operation) => (await zoneOps.wait({ project, zone, operation }, waitCall))[0],
    waitGlobalOperation: async (project, operation) => (await globalOps.wait({ project, operation }, waitCall))[0],
  }
}
