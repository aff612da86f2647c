export type CloudName = 'public' | 'usgov';

/** URLs and token audiences of one Azure cloud. Audiences never follow an endpoint override. */
export interface Cloud {
  name: CloudName;
  armEndpoint: string;
  armScope: string;
  graphEndpoint: string;
  graphScope: string;
  authorityHost: string;
  portal: string;
  intune: string;
}

export const CLOUDS: Record<CloudName, Cloud> = {
  public: {
    name: 'public',
    armEndpoint: 'https://management.azure.com',
    armScope: 'https://management.azure.com/.default',
    graphEndpoint: 'https://graph.microsoft.com',
    graphScope: 'https://graph.microsoft.com/.default',
    authorityHost: 'https://login.microsoftonline.com',
    portal: 'https://portal.azure.com',
    intune: 'https://intune.microsoft.com',
  },
  usgov: {
    name: 'usgov',
    armEndpoint: 'https://management.usgovcloudapi.net',
    armScope: 'https://management.usgovcloudapi.net/.default',
    graphEndpoint: 'https://graph.microsoft.us',
    graphScope: 'https://graph.microsoft.us/.default',
    authorityHost: 'https://login.microsoftonline.us',
    portal: 'https://portal.azure.us',
    intune: 'https://intune.microsoft.us',
  },
};

export function isCloudName(value: string): value is CloudName {
  return Object.hasOwn(CLOUDS, value);
}

/** azure/login's `environment` names (it compares them case-insensitively), so one variable can feed both actions. */
const AZURE_LOGIN_NAMES: Readonly<Record<string, CloudName>> = {
  azurecloud: 'public',
  azureusgovernment: 'usgov',
};

/** The cloud an `azure-environment` value names: `public`/`usgov`, or azure/login's `AzureCloud`/`AzureUSGovernment`. */
export function cloudNamed(value: string): CloudName | undefined {
  if (isCloudName(value)) return value;
  return AZURE_LOGIN_NAMES[value.toLowerCase()];
}
