/** What a machine's Azure resources are called, known before any exists (the journal names them first). */

export interface ResourceNames {
  vm: string
  nsg: string
  nic: string
  publicIp: string
  osDisk: string
}

/** docker-machine's resource names, so a store created by either tool names the same things. */
export const resourceNames = (machine: string): ResourceNames => ({
  vm: machine,
  nsg: `${machine}-firewall`,
  nic: `${machine}-nic`,
  publicIp: `${machine}-ip`,
  osDisk: `${machine}-os-disk`,
})

/** ARM resource ids, known before anything exists so the journal can name what is about to be made. */
export const ids = {
  group: (sub: string, rg: string) => `/subscriptions/${sub}/resourceGroups/${rg}`,
  network: (sub: string, rg: string, type: string, name: string) =>
    `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Network/${type}/${name}`,
  compute: (sub: string, rg: string, type: string, name: string) =>
    `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/${type}/${name}`,
}
