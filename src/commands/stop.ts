import { lifecycleCommand } from '../cli/lifecycle-command.js'

export default lifecycleCommand('stop', 'Stop one or more machines (gracefully)', {
  description: [
    'Powers the machine off cleanly: its engine and containers are stopped as at a shutdown, and the next start boots it.',
    '',
    "With --save (qemu, virtualbox, hyperv, vmware), the running VM's memory and devices are saved instead (after the guest has flushed its disks), by the hypervisor's own save (VirtualBox savestate, Hyper-V Save-VM, VMware suspend; qemu writes them to the machine directory), and the next start resumes it in seconds with its containers still running; its status is then Saved. Stopping a Saved machine without --save discards the saved state, as kill does; its next start boots it afresh.",
  ].join('\n'),
})
