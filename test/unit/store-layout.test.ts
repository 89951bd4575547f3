import { describe, expect, it } from 'vitest'
import { authOptionsFor } from '../../src/core/host-config.js'
import { knownHostsPath as kitKnownHostsPath, machineKeyPath as kitMachineKeyPath } from '../../src/driver-kit/index.js'
import { certsPaths, configPath, journalPath, knownHostsPath, machineDir, machineKeyPath, machineTlsPaths } from '../../src/store/paths.js'

// docker-machine's file names: a store it wrote is read here, and ours by it.
describe('the store layout (store/paths.ts)', () => {
  const dir = machineDir('/s', 'dev')
  it('names every file of a machine directory as docker-machine does', () => {
    expect(dir).toBe('/s/machines/dev')
    expect([configPath(dir), journalPath(dir), knownHostsPath(dir), machineKeyPath(dir)]).toEqual([
      '/s/machines/dev/config.json',
      '/s/machines/dev/journal.json',
      '/s/machines/dev/known_hosts',
      '/s/machines/dev/id_rsa',
    ])
    expect(machineTlsPaths(dir)).toEqual({ ca: `${dir}/ca.pem`, cert: `${dir}/cert.pem`, key: `${dir}/key.pem`, server: `${dir}/server.pem`, serverKey: `${dir}/server-key.pem` })
    expect(certsPaths('/s')).toEqual({ dir: '/s/certs', caCert: '/s/certs/ca.pem', caKey: '/s/certs/ca-key.pem', clientCert: '/s/certs/cert.pem', clientKey: '/s/certs/key.pem' })
  })

  it('config.json AuthOptions and the kit name the same files', () => {
    expect(authOptionsFor('/s', dir)).toMatchObject({
      CertDir: '/s/certs',
      CaCertPath: '/s/certs/ca.pem',
      CaPrivateKeyPath: '/s/certs/ca-key.pem',
      ClientCertPath: '/s/certs/cert.pem',
      ClientKeyPath: '/s/certs/key.pem',
      ServerCertPath: `${dir}/server.pem`,
      ServerKeyPath: `${dir}/server-key.pem`,
      StorePath: dir,
    })
    expect(kitKnownHostsPath(dir)).toBe(knownHostsPath(dir))
    expect(kitMachineKeyPath(dir)).toBe(machineKeyPath(dir))
  })
})
