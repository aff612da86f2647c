import { ComputeManagementClient, type Image } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import { azurePolicies } from '../net/azurePolicies.ts';
import { isRunFailure, RunFailure } from '../net/failures.ts';
import { RequestPolicy } from '../net/policy.ts';
import { systemClock } from '../util/clock.ts';
import { WINDOWS_365_APP_ID } from './windows365.ts';
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

/** What every ARM client of ours takes. */
export interface ArmClientOptions {
  credential: TokenCredential;
  subscriptionId: string;
  endpoint: string;
  /** The ARM audience of the cloud, whatever the endpoint. */
  scope: string;
  userAgent: string;
  /** The run's request policy (timeouts, capped waits, deadline, cancel); default: no deadline, no cancel. */
  policy?: RequestPolicy;
}

/**
 * Reads (and later deletes) Azure managed images through the Compute SDK, in whatever subscription an image ID
 * names: one client per run, one Compute SDK client per subscription it reaches.
 */
export class ManagedImageClient {
  readonly #options: Omit<ArmClientOptions, 'subscriptionId'>;
  readonly #policy: RequestPolicy;
  readonly #compute = new Map<string, ComputeManagementClient>();

  constructor(options: Omit<ArmClientOptions, 'subscriptionId'>) {
    this.#options = options;
    this.#policy = options.policy ?? new RequestPolicy({ clock: systemClock() });
  }

  #computeFor(id: ManagedImageId): ComputeManagementClient {
    const key = id.subscriptionId.toLowerCase();
    let compute = this.#compute.get(key);
    if (!compute) {
      compute = new ComputeManagementClient(this.#options.credential, id.subscriptionId, {
        endpoint: this.#options.endpoint,
        credentials: { scopes: [this.#options.scope] },
        userAgentOptions: { userAgentPrefix: this.#options.userAgent },
        additionalPolicies: azurePolicies(this.#policy),
      });
      this.#compute.set(key, compute);
    }
    return compute;
  }

  /**
   * Reads the image. `ok: false` only for answers that are facts about the image ID (404 and other 4xx); refused
   * credentials or permissions, a cancel, the deadline and a service that keeps failing throw a RunFailure.
   */
  async read(id: ManagedImageId): Promise<ImageRead> {
    try {
      return { ok: true, image: await this.#computeFor(id).images.get(id.resourceGroup, id.name) };
    } catch (error) {
      if (isRunFailure(error)) throw error;
      const e = error as { statusCode?: number; code?: string; message?: string };
      const message = e.message ?? String(error);
      const status = e.statusCode;
      if (status === 401 || status === 403) {
        throw new RunFailure(
          'auth',
          `Azure Resource Manager refused to show image ${id.id} to this identity (${status} ${e.code ?? ''}): ${message}`.replace(
            ' )',
            ')',
          ),
          status === 403
            ? `Give the identity the Reader role (Microsoft.Compute/images/read) on the image or its resource group ${id.resourceGroup}; the Windows 365 service principal (app ${WINDOWS_365_APP_ID}) also needs Reader on subscription ${id.subscriptionId}.`
            : 'Check tenant-id, client-id and azure-environment: the token is not valid for this subscription.',
          { cause: error },
        );
      }
      if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
        return { ok: false, status, code: e.code, message };
      }
      throw new RunFailure(
        'unreachable',
        `Azure Resource Manager did not answer usably for image ${id.id} (${status ?? 'no answer'} ${e.code ?? ''}): ${message}`,
        'Re-run the job; if it persists, check Azure status (https://azure.status.microsoft) and arm-endpoint.',
        { cause: error },
      );
    }
  }

  /** Deletes the image and waits for ARM's long-running operation to finish. A 404 means it was already gone. */
  async delete(id: ManagedImageId, options: ImageDeleteOptions = {}): Promise<ImageDeletion> {
    try {
      await this.#computeFor(id)
        .images.delete(id.resourceGroup, id.name, {
          ...(options.pollIntervalMs !== undefined ? { updateIntervalInMs: options.pollIntervalMs } : {}),
          ...(options.abortSignal || this.#policy.signal
            ? { abortSignal: options.abortSignal ?? this.#policy.signal }
            : {}),
        })
        .pollUntilDone();
      return { ok: true, notFound: false };
    } catch (error) {
      if (isRunFailure(error, 'cancelled') || this.#policy.signal?.aborted) {
        throw isRunFailure(error)
          ? error
          : new RunFailure('cancelled', 'Cancelled while deleting the source image.', 'Re-run the job.');
      }
      const e = error as { statusCode?: number; code?: string; message?: string };
      if (e.statusCode === 404) return { ok: true, notFound: true };
      return { ok: false, status: e.statusCode, code: e.code, message: e.message ?? String(error) };
    }
  }
}
