import { azurePolicies } from '../net/azurePolicies.ts';
import { AzureCliCredential, ClientAssertionCredential, type TokenCredential } from '@azure/identity';
import type { Cloud } from '../config/clouds.ts';
import type { AuthMode } from '../config/inputs.ts';
import { isRunFailure, RunFailure } from '../net/failures.ts';
import type { RequestPolicy } from '../net/policy.ts';
import type { Log } from '../util/log.ts';

export const GITHUB_TOKEN_AUDIENCE = 'api://AzureADTokenExchange';

export interface CredentialSettings {
  auth: AuthMode;
  tenantId: string | undefined;
  clientId: string | undefined;
  cloud: Cloud;
  /** Set when authority-host overrides the cloud's login URL. */
  authorityHost: string | undefined;
}

export interface CredentialDeps {
  env: NodeJS.ProcessEnv;
  log: Log;
  /** Returns a new GitHub ID token for the audience, following the run's request policy. */
  getIdToken: (audience: string, policy: RequestPolicy) => Promise<string>;
  /** The run's request policy: Entra ID and discovery requests follow it too. */
  policy: RequestPolicy;
}

/** Raised before any request when the credential cannot work at all: an 'auth' failure, with its fix. */
export class AuthSetupError extends RunFailure {
  override name = 'AuthSetupError';
  constructor(message: string, fix: string) {
    super('auth', message, fix);
  }
}

/**
 * One credential for ARM and Graph. With OIDC the assertion callback asks GitHub for a new ID token every time MSAL
 * needs one: a captured token expires after minutes and a long upload wait would die with AADSTS700024.
 */
export function createCredential(settings: CredentialSettings, deps: CredentialDeps): TokenCredential {
  const authorityHost = settings.authorityHost ?? settings.cloud.authorityHost;
  if (settings.auth === 'azure-cli') {
    return classifyFailures(
      new AzureCliCredential({
        ...(settings.tenantId ? { tenantId: settings.tenantId } : {}),
        // Without it a hung `az` (a prompt, a broken proxy) would wait for ever.
        processTimeoutInMs: deps.policy.timeoutMs,
      }),
      deps.policy,
      () => undefined,
      () => undefined,
    );
  }
  if (!deps.env.ACTIONS_ID_TOKEN_REQUEST_URL || !deps.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    throw new AuthSetupError(
      'auth: oidc needs a GitHub OIDC token, but this job cannot request one (ACTIONS_ID_TOKEN_REQUEST_URL is not set).',
      "Give the job 'permissions: id-token: write' (and 'contents: read'). Pull requests from forks never get it: run registration only on pushes, schedules or same-repository pull requests. In a terminal use auth: azure-cli.",
    );
  }
  if (!settings.tenantId || !settings.clientId) {
    throw new AuthSetupError(
      'auth: oidc needs both tenant-id and client-id.',
      "Set tenant-id and client-id to the app registration with the workflow's federated credential.",
    );
  }
  let fetched = 0;
  let subject: string | undefined;
  // MSAL wraps what the assertion callback throws and drops its type: keep it to report the real cause.
  let assertionFailure: unknown;
  const getAssertion = async (): Promise<string> => {
    assertionFailure = undefined;
    const token = await deps.getIdToken(GITHUB_TOKEN_AUDIENCE, deps.policy).catch((error: unknown) => {
      assertionFailure = error;
      throw error;
    });
    deps.log.mask(token);
    fetched += 1;
    subject = tokenSubject(token);
    deps.log.debug(`Fetched GitHub ID token #${fetched} for ${GITHUB_TOKEN_AUDIENCE} (subject ${subject})`);
    return token;
  };
  const credential = new ClientAssertionCredential(settings.tenantId, settings.clientId, getAssertion, {
    authorityHost,
    // A custom authority (a sovereign cloud mirror or a local fake) is not in Microsoft's instance list.
    disableInstanceDiscovery: settings.authorityHost !== undefined,
    additionalPolicies: azurePolicies(deps.policy),
  });
  return classifyFailures(
    credential,
    deps.policy,
    () => subject,
    () => assertionFailure,
  );
}

/**
 * Every failure to get a token becomes a RunFailure where it happens: 'auth' with the fix for its cause (an AADSTS
 * code, GitHub's OIDC endpoint, the Azure CLI), or the cancel or deadline that stopped it. The pipeline then ends
 * with status error, never with a failed image check.
 */
function classifyFailures(
  inner: TokenCredential,
  policy: RequestPolicy,
  subject: () => string | undefined,
  assertionFailure: () => unknown,
): TokenCredential {
  return {
    getToken: async (scopes, options) => {
      try {
        return await inner.getToken(scopes, options);
      } catch (error) {
        throw authFailure(runFailureIn(assertionFailure()) ?? error, policy, subject());
      }
    },
  };
}

export function authFailure(error: unknown, policy: RequestPolicy, subject?: string): RunFailure {
  const known = runFailureIn(error);
  if (known) return known;
  if (policy.signal?.aborted)
    return new RunFailure('cancelled', 'Cancelled while signing in.', 'Re-run the job.', { cause: error });
  if (policy.remainingMs() <= 0) return policy.deadlineFailure('while signing in', error);
  const message = firstLine(error instanceof Error ? error.message : String(error));
  const help = explainAuthError(message);
  const seen =
    subject && /AADSTS70021/.test(message) ? ` This job's GitHub token has subject '${subject}'.` : '';
  return new RunFailure(
    'auth',
    `Signing in failed: ${message}`,
    (help ?? 'Check tenant-id, client-id and azure-environment, and the federated credential of the app.') +
      seen,
    { cause: error },
  );
}

/** A RunFailure our own code threw inside the SDK (OIDC fetch, request policy), however deep it was wrapped. */
function runFailureIn(error: unknown): RunFailure | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (isRunFailure(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim() !== '') ?? text).trim();
}

/** The `sub` claim of a JWT, for explaining federated-credential mismatches. Never logs the token itself. */
export function tokenSubject(jwt: string): string {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      sub?: unknown;
    };
    return typeof payload.sub === 'string' ? payload.sub : 'unknown';
  } catch {
    return 'unknown';
  }
}

const AADSTS_FIXES: Record<string, string> = {
  AADSTS700024:
    'The client assertion expired. This tool fetches a fresh GitHub token for every request; if you see this, check the runner clock.',
  AADSTS70021:
    "No federated credential on the app matches this workflow. Add one whose subject is 'repo:ORG/REPO:environment:ENV' when the job names an environment, else 'repo:ORG/REPO:ref:refs/heads/BRANCH' or 'repo:ORG/REPO:pull_request', issuer https://token.actions.githubusercontent.com, audience api://AzureADTokenExchange.",
  AADSTS700016: 'The client-id is not an application in this tenant. Check client-id and tenant-id.',
  AADSTS90002: 'The tenant-id does not exist in this cloud. Check tenant-id and azure-environment.',
  AADSTS900023: 'The tenant-id is malformed. Use the tenant GUID or domain.',
  AADSTS500011:
    'The token audience is not known in this tenant or cloud. Check azure-environment (public or usgov).',
  AADSTS7000215: 'The client secret is wrong or expired.',
};

/** Adds a fix to Entra ID errors (AADSTS codes) that an admin can act on. */
export function explainAuthError(error: unknown): string | undefined {
  const text = error instanceof Error ? error.message : String(error);
  const code = /AADSTS\d+/.exec(text)?.[0];
  if (code && AADSTS_FIXES[code]) return `${code}: ${AADSTS_FIXES[code]}`;
  if (/azure cli (could not be found|is not installed)|az: (command )?not found/i.test(text)) {
    return "auth: azure-cli needs the Azure CLI, which is not installed or not on PATH: install it (https://aka.ms/azure-cli) and run 'az login'. In a workflow, use auth: oidc.";
  }
  if (/az(ure cli)? (login|not found|is not installed)|Please run 'az login'/i.test(text)) {
    return "auth: azure-cli needs a logged-in Azure CLI: run 'az login' (or azure/login in a workflow) first.";
  }
  return undefined;
}
