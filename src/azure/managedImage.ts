import { ComputeManagementClient, type Image } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import type { ManagedImageId } from './resourceId.ts';

export type { Image as ManagedImage } from '@azure/arm-compute';

export type ImageRead =
  | { ok: true; image: Image }
  | { ok: false; status: number | undefined; code: string | undefined; message: string };

export type ImageDeletion =
  | {
      ok: true;
      /** ARM answered 404: the image (or its resource group) was already gone. */
      notFound: boolean;
    }
  | { ok: false; status: number | undefined; code: string | undefined; message: string };

export interface ImageDeleteOptions {
  /** Milliseconds between polls of ARM's long-running operation (default: the SDK's, or ARM's Retry-After). */
  pollIntervalMs?: number;
  abortSignal?: AbortSignal;
}

export interface ManagedImageClientOptions {
  credential: TokenCredential;
  subscriptionId: string;
  endpoint: string;
  /** The ARM audience of the cloud, whatever the endpoint. */
  scope: string;
  userAgent: string;
}

/** Reads (and later deletes) Azure managed images through the Compute SDK. */
export class ManagedImageClient {
  readonly #compute: ComputeManagementClient;

  constructor(options: ManagedImageClientOptions) {
    this.#compute = new ComputeManagementClient(options.credential, options.subscriptionId, {
      endpoint: options.endpoint,
      credentials: { scopes: [options.scope] },
      userAgentOptions: { userAgentPrefix: options.userAgent },
    });
  }

  async read(id: ManagedImageId): Promise<ImageRead> {
    try {
      return { ok: true, image: await this.#compute.images.get(id.resourceGroup, id.name) };
    } catch (error) {
      const e = error as { statusCode?: number; code?: string; message?: string };
      return { ok: false, status: e.statusCode, code: e.code, message: e.message ?? String(error) };
    }
  }

  /** Deletes the image and waits for ARM's long-running operation to finish. A 404 means it was already gone. */
  async delete(id: ManagedImageId, options: ImageDeleteOptions = {}): Promise<ImageDeletion> {
    try {
      await this.#compute.images
        .delete(id.resourceGroup, id.name, {
          ...(options.pollIntervalMs !== undefined ? { updateIntervalInMs: options.pollIntervalMs } : {}),
          ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
        })
        .pollUntilDone();
      return { ok: true, notFound: false };
    } catch (error) {
      const e = error as { statusCode?: number; code?: string; message?: string };
      if (e.statusCode === 404) return { ok: true, notFound: true };
      return { ok: false, status: e.statusCode, code: e.code, message: e.message ?? String(error) };
    }
  }
}
