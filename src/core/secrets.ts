/**
 * The one rule for which config fields are credentials. docker-machine saved driver secrets in
 * plain text (AWS keys, Azure client secret, DigitalOcean token, OpenStack/vSphere passwords,
 * exoscale's API secret…); an imported config may hold them. `inspect` redacts every field this
 * rule matches and the store drops the same fields on the next save, so what is hidden and what
 * is kept never disagree.
 */

/** docker-machine's own field names whose ends the pattern below does not cover. */
const SECRET_FIELDS = new Set(['AccessKey', 'ClientSecretValue'])

/** Other drivers' spellings: anything ending in one of these (SSHPassword, VSpherePassword, APISecretKey…). */
const SECRET_LOOKING = /(secret|secretkey|password|passwd|token|apikey|api_key|privatekeydata)$/i

export const isSecretField = (key: string): boolean => SECRET_FIELDS.has(key) || SECRET_LOOKING.test(key)
