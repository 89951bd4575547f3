import { Flags } from '@oclif/core'

/** The flags `swarm init` and `swarm join` share: how the machine is reached by the other nodes. */
export const nodeAddressFlags = {
  'advertise-addr': Flags.string({ description: 'address the other nodes reach this one at [default: the driver’s cluster address, else its IP]' }),
  restart: Flags.boolean({
    description:
      'restart the machine if it must first be put on the network the swarm’s machines share (a qemu VM made without --qemu-network); a stopped machine is started without it',
  }),
}
