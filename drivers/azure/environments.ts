/**
 * Azure clouds the driver can talk to (docker-machine's `--azure-environment` values). Each needs
 * its own Resource Manager endpoint, the token scope of that endpoint and its own Entra ID
 * authority: a public-cloud token is useless against a sovereign cloud and vice versa.
 *
 * No SDK import here: index.ts (loaded by `--help`) uses the names for the flag's choices.
 */
export interface AzureEnvironment {
  name: string
  /** Resource Manager endpoint, without a trailing slash. */
  resourceManager: string
  /** Entra ID (Azure AD) authority host for client-secret and default credentials. */
  authorityHost: string
  /** Portal, for hints that send the user somewhere. */
  portal: string
}

export const AZURE_ENVIRONMENTS: Readonly<Record<string, AzureEnvironment>> = {
  AzurePublicCloud: {
    name: 'AzurePublicCloud',
    resourceManager: 'https://management.azure.com',
    authorityHost: 'https://login.microsoftonline.com',
    portal: 'https://portal.azure.com',
  },
  AzureChinaCloud: {
    name: 'AzureChinaCloud',
    resourceManager: 'https://management.chinacloudapi.cn',
    authorityHost: 'https://login.chinacloudapi.cn',
    portal: 'https://portal.azure.cn',
  },
  AzureUSGovernmentCloud: {
    name: 'AzureUSGovernmentCloud',
    resourceManager: 'https://management.usgovcloudapi.net',
    authorityHost: 'https://login.microsoftonline.us',
    portal: 'https://portal.azure.us',
  },
}

export const AZURE_ENVIRONMENT_NAMES = Object.keys(AZURE_ENVIRONMENTS)

export function azureEnvironment(name: string): AzureEnvironment {
  const env = AZURE_ENVIRONMENTS[name]
  if (!env) throw new Error(`unknown Azure environment "${name}" (one of ${AZURE_ENVIRONMENT_NAMES.join(', ')})`)
  return env
}

/** OAuth scope for Resource Manager in this cloud (the SDK defaults to the public cloud's). */
export const armScope = (env: AzureEnvironment): string => `${env.resourceManager}/.default`
