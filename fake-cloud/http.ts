import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { VirtualClock } from './clock.ts';
import type { SigningKey } from './jwt.ts';
import type { CloudName, CloudState, Counters } from './state.ts';

/** A request as the services see it: body already read. */
export interface Incoming {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What a service answers; the router sends it (or replaces it, for an `after` fault). */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** Serialized as JSON when present. */
  body?: unknown;
  /** Sent as is instead of `body` (fault injection: HTML pages). */
  raw?: string;
}

export interface CloudConfig {
  cloud: CloudName;
  url: string;
  tenantId: string;
  clientId: string;
  /** Object id of the client's service principal. */
  principalObjectId: string;
  subscriptionId: string;
  federatedSubject: string;
  githubSubject: string;
  oidcRequestToken: string;
  accessTokenLifetimeSeconds: number;
  idTokenLifetimeSeconds: number;
  graphPageSize: number;
  armDeleteSeconds: number;
  /** Virtual seconds a new device image stays out of GET /deviceImages lists (GET by id sees it at once). */
  deviceImageListLagSeconds: number;
}

/** Everything a service handler may use. */
export interface Context {
  config: CloudConfig;
  state: CloudState;
  clock: VirtualClock;
  counters: Counters;
  githubKey: SigningKey;
  entraKey: SigningKey;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, body, headers };
}

export function empty(status: number, headers: Record<string, string> = {}): Reply {
  return { status, headers };
}

export function header(req: Incoming, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function bearerToken(req: Incoming): string | undefined {
  const auth = header(req, 'authorization');
  if (!auth) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(auth.trim());
  return match?.[1] ?? '';
}

export function newId(): string {
  return randomUUID();
}

/** Audiences a cloud's Entra issues tokens for, by `.default` scope. ARM audiences carry a trailing slash. */
export interface CloudAudiences {
  armScope: string;
  graphScope: string;
  armAudience: string;
  graphAudience: string;
}

export function audiencesFor(cloud: CloudName): CloudAudiences {
  return cloud === 'usgov'
    ? {
        armScope: 'https://management.usgovcloudapi.net/.default',
        graphScope: 'https://graph.microsoft.us/.default',
        armAudience: 'https://management.usgovcloudapi.net/',
        graphAudience: 'https://graph.microsoft.us',
      }
    : {
        armScope: 'https://management.azure.com/.default',
        graphScope: 'https://graph.microsoft.com/.default',
        armAudience: 'https://management.azure.com/',
        graphAudience: 'https://graph.microsoft.com',
      };
}
