import type { GraphClient } from './client.ts';

export const VIRTUAL_ENDPOINT = '/v1.0/deviceManagement/virtualEndpoint';
export const VIRTUAL_ENDPOINT_BETA = '/beta/deviceManagement/virtualEndpoint';
/** Windows 365 holds at most this many custom images per tenant. */
export const TENANT_IMAGE_LIMIT = 20;

export type DeviceImageStatus = 'pending' | 'ready' | 'warning' | 'failed' | 'unknownFutureValue';

/** cloudPcDeviceImage, as Graph v1.0 returns it. */
export interface DeviceImage {
  id: string;
  displayName: string;
  version: string;
  sourceImageResourceId: string;
  /** A string, not DeviceImageStatus: Graph may add values. */
  status: string;
  errorCode?: string | null;
  statusDetails?: string | null;
  operatingSystem?: string | null;
  osBuildNumber?: string | null;
  osVersionNumber?: string | null;
  osStatus?: string | null;
  sizeInGB?: number | null;
  expirationDate?: string | null;
  lastModifiedDateTime?: string | null;
}

export interface NewDeviceImage {
  displayName: string;
  version: string;
  sourceImageResourceId: string;
}

/** OData string literal: a single quote is escaped by doubling it. */
export function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function listDeviceImages(graph: GraphClient): Promise<DeviceImage[]> {
  return graph.list<DeviceImage>(`${VIRTUAL_ENDPOINT}/deviceImages`);
}

/** Device images with this display name and version (Graph does not promise the pair is unique). */
export function findDeviceImages(
  graph: GraphClient,
  displayName: string,
  version: string,
): Promise<DeviceImage[]> {
  return graph.list<DeviceImage>(`${VIRTUAL_ENDPOINT}/deviceImages`, {
    $filter: `displayName eq ${odataString(displayName)} and version eq ${odataString(version)}`,
  });
}

export function getDeviceImage(graph: GraphClient, id: string): Promise<DeviceImage> {
  return graph.get<DeviceImage>(`${VIRTUAL_ENDPOINT}/deviceImages/${encodeURIComponent(id)}`);
}

/** A single POST: starts an upload. Callers must guard against repeating it. */
export function postDeviceImage(graph: GraphClient, image: NewDeviceImage): Promise<DeviceImage> {
  return graph.postOnce<DeviceImage>(`${VIRTUAL_ENDPOINT}/deviceImages`, image);
}

export function sameSource(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
