import { GraphError, GraphTransportError, type GraphClient } from './client.ts';

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

/** Every device image with this display name, whatever its version (Graph's eq may ignore case: callers compare). */
export function findDeviceImagesNamed(graph: GraphClient, displayName: string): Promise<DeviceImage[]> {
  return graph.list<DeviceImage>(`${VIRTUAL_ENDPOINT}/deviceImages`, {
    $filter: `displayName eq ${odataString(displayName)}`,
  });
}

/** cloudPcSourceDeviceImage (v1.0): a managed image Windows 365's own service principal can read. */
export interface SourceImage {
  resourceId: string;
  displayName?: string | null;
  subscriptionId?: string | null;
  subscriptionDisplayName?: string | null;
}

/** Every managed image Windows 365 can see (all pages): the images it could upload. */
export function listSourceImages(graph: GraphClient): Promise<SourceImage[]> {
  return graph.list<SourceImage>(`${VIRTUAL_ENDPOINT}/deviceImages/getSourceImages`);
}

export function getDeviceImage(graph: GraphClient, id: string): Promise<DeviceImage> {
  return graph.get<DeviceImage>(`${VIRTUAL_ENDPOINT}/deviceImages/${encodeURIComponent(id)}`);
}

/**
 * A single POST: starts an upload. Callers must guard against repeating it. An answer without the new image's id
 * (an HTML page, an empty body) is as ambiguous as no answer: the upload may have started.
 */
export async function postDeviceImage(graph: GraphClient, image: NewDeviceImage): Promise<DeviceImage> {
  const created = await graph.postOnce<unknown>(`${VIRTUAL_ENDPOINT}/deviceImages`, image);
  const id = (created as { id?: unknown } | null)?.id;
  if (typeof created !== 'object' || typeof id !== 'string' || id === '') {
    throw new GraphTransportError('Graph POST /deviceImages answered without the id of a device image.');
  }
  return created as DeviceImage;
}

export function sameSource(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The device image, or undefined when Graph answers 404 (deleted, or never existed). */
export async function findDeviceImageById(graph: GraphClient, id: string): Promise<DeviceImage | undefined> {
  try {
    return await getDeviceImage(graph, id);
  } catch (error) {
    if (error instanceof GraphError && error.status === 404) return undefined;
    throw error;
  }
}

/** DELETE a device image. Graph refuses (4xx) while a provisioning policy uses it; 404 counts as deleted. */
export function deleteDeviceImage(graph: GraphClient, id: string): Promise<void> {
  return graph.delete(`${VIRTUAL_ENDPOINT}/deviceImages/${encodeURIComponent(id)}`);
}

/**
 * Beta `retryUpload` of a failed device image (never the deprecated `reupload`). A single POST: the caller checks
 * the image's status before sending it again.
 */
export async function retryDeviceImageUpload(graph: GraphClient, id: string): Promise<void> {
  await graph.postOnce(`${VIRTUAL_ENDPOINT_BETA}/deviceImages/${encodeURIComponent(id)}/retryUpload`);
}

/** Parses `Major.Minor.Patch` (integers); undefined for anything else. */
export function parseImageVersion(version: string): [number, number, number] | undefined {
  const match = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})$/.exec(version.trim());
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** Orders versions numerically (1.10.0 after 1.9.0); negative when a is older. Both must parse. */
export function compareImageVersions(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}
