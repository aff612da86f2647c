// Helpers shared by the fake cloud's own tests (and usable by other tests that drive the fake in-process).
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { ClientAssertionCredential } from '@azure/identity';
import type { FakeCloud } from '../../fake-cloud/index.ts';

/** Makes this process trust the fake's certificate (https, fetch and the Azure SDK pipelines). */
export function trustFakeCloud(fake: FakeCloud): void {
  const current = getCACertificates('default');
  if (!current.includes(fake.caPem)) setDefaultCACertificates([...current, fake.caPem]);
}

/** A fresh GitHub ID token from the fake, like `core.getIDToken(audience)`. */
export async function fetchIdToken(
  fake: FakeCloud,
  audience = 'api://AzureADTokenExchange',
): Promise<string> {
  const res = await fetch(`${fake.oidcRequestUrl}&audience=${encodeURIComponent(audience)}`, {
    headers: { Authorization: `Bearer ${fake.oidcRequestToken}` },
  });
  if (res.status !== 200) throw new Error(`ID token request failed: ${res.status}`);
  const body = (await res.json()) as { value: string };
  return body.value;
}

/** The credential the action uses: a fresh ID token for every assertion. */
export function federatedCredential(
  fake: FakeCloud,
  overrides: { tenantId?: string; clientId?: string; getAssertion?: () => Promise<string> } = {},
): ClientAssertionCredential {
  return new ClientAssertionCredential(
    overrides.tenantId ?? fake.tenantId,
    overrides.clientId ?? fake.clientId,
    overrides.getAssertion ?? (() => fetchIdToken(fake)),
    { authorityHost: fake.url, disableInstanceDiscovery: true },
  );
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** A plain HTTPS call to the fake, for what the SDK clients hide (status codes, headers, error bodies). */
export async function call(
  fake: FakeCloud,
  method: string,
  path: string,
  init: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(path.startsWith('https://') ? path : `${fake.url}${path}`, {
    method,
    headers,
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
