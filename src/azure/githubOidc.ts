/**
 * Requests a GitHub Actions OIDC ID token the way @actions/core does, without printing an ::add-mask:: command:
 * in a terminal that command would show the token instead of hiding it.
 */
export async function fetchGitHubIdToken(env: NodeJS.ProcessEnv, audience: string): Promise<string> {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const token = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !token)
    throw new Error('ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set.');
  const request = new URL(url);
  request.searchParams.set('audience', audience);
  const response = await fetch(request, {
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
  });
  if (!response.ok)
    throw new Error(`GitHub OIDC token request failed: ${response.status} ${response.statusText}`);
  const body = (await response.json()) as { value?: unknown };
  if (typeof body.value !== 'string') throw new Error('GitHub OIDC token response has no value.');
  return body.value;
}
