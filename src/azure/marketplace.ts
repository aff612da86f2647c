import { getClient, type Client } from '@azure-rest/core-client';
import { ComputeManagementClient } from '@azure/arm-compute';
import { azurePolicies } from '../net/azurePolicies.ts';
import { isRunFailure, type RunFailure } from '../net/failures.ts';
import { RequestPolicy } from '../net/policy.ts';
import { systemClock } from '../util/clock.ts';
import type { ArmClientOptions } from './managedImage.ts';

export interface ImageVersion {
  version: string;
  /** V1 or V2; undefined when ARM did not say. */
  hyperVGeneration: string | undefined;
  features: Array<{ name: string; value: string }>;
}

/** ARM said no (404 for an unknown publisher, offer, SKU or version), or could not be reached. */
export class MarketplaceError extends Error {
  override name = 'MarketplaceError';
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined) {
    super(message);
    this.status = status;
  }
}

/** Reads Marketplace VM image SKUs and versions of one location through the Compute SDK. */
export class MarketplaceClient {
  readonly #compute: ComputeManagementClient;
  readonly #arm: Client;
  readonly #subscriptionId: string;

  constructor(options: ArmClientOptions) {
    this.#subscriptionId = options.subscriptionId;
    const additionalPolicies = azurePolicies(options.policy ?? new RequestPolicy({ clock: systemClock() }));
    this.#arm = getClient(options.endpoint, options.credential, {
      credentials: { scopes: [options.scope] },
      userAgentOptions: { userAgentPrefix: options.userAgent },
      additionalPolicies,
    });
    this.#compute = new ComputeManagementClient(options.credential, options.subscriptionId, {
      endpoint: options.endpoint,
      credentials: { scopes: [options.scope] },
      userAgentOptions: { userAgentPrefix: options.userAgent },
      additionalPolicies,
    });
  }

  /** The location of a resource group (where Packer builds when it is given build_resource_group_name). */
  async resourceGroupLocation(name: string): Promise<string> {
    const response = await this.#arm
      .pathUnchecked(
        `/subscriptions/${encodeURIComponent(this.#subscriptionId)}/resourcegroups/${encodeURIComponent(name)}`,
      )
      .get({ queryParameters: { 'api-version': '2024-11-01' }, ...bounded() });
    const body = response.body as { location?: unknown; error?: { message?: unknown } } | undefined;
    if (response.status !== '200' || typeof body?.location !== 'string') {
      const detail =
        typeof body?.error?.message === 'string' ? body.error.message : `HTTP ${response.status}`;
      throw new MarketplaceError(`Cannot read resource group '${name}': ${detail}`, Number(response.status));
    }
    return body.location;
  }

  /** The offer's SKU names; an empty list when the offer does not exist in the location. */
  async skus(location: string, publisher: string, offer: string): Promise<string[]> {
    try {
      const skus = await this.#compute.virtualMachineImages.listSkus(location, publisher, offer, bounded());
      return skus.map((s) => s.name);
    } catch (error) {
      if (unknownArtifact(error)) return [];
      throw wrap(error);
    }
  }

  /** The SKU's version names, as ARM lists them. */
  async versions(location: string, publisher: string, offer: string, sku: string): Promise<string[]> {
    try {
      const versions = await this.#compute.virtualMachineImages.list(
        location,
        publisher,
        offer,
        sku,
        bounded(),
      );
      return versions.map((v) => v.name);
    } catch (error) {
      if (unknownArtifact(error)) return [];
      throw wrap(error);
    }
  }

  /** One version with its generation and features; undefined when ARM does not know it. */
  async version(
    location: string,
    publisher: string,
    offer: string,
    sku: string,
    version: string,
  ): Promise<ImageVersion | undefined> {
    try {
      const image = await this.#compute.virtualMachineImages.get(
        location,
        publisher,
        offer,
        sku,
        version,
        bounded(),
      );
      return {
        version: image.name,
        hyperVGeneration: image.hyperVGeneration,
        features: (image.features ?? []).map((f) => ({ name: f.name ?? '', value: f.value ?? '' })),
      };
    } catch (error) {
      if (unknownArtifact(error)) return undefined;
      throw wrap(error);
    }
  }
}

/** Each ARM call may take this long, retries included: ARM is a service we do not control. */
const CALL_TIMEOUT_MS = 120_000;

const bounded = () => ({ abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) });

/** ARM's 404 for a publisher, offer, SKU or version it does not know (not for a wrong subscription). */
function unknownArtifact(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return statusOf(error) === 404 && code !== 'SubscriptionNotFound';
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** A cancel, the deadline or a refused sign-in stay what they are: they say nothing about the base. */
function wrap(error: unknown): MarketplaceError | RunFailure {
  if (isRunFailure(error)) return error;
  return new MarketplaceError(error instanceof Error ? error.message : String(error), statusOf(error));
}

/** Compares Marketplace versions (N.N.N) part by part as numbers. */
export function compareImageVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
