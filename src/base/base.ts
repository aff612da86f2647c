import { compareImageVersions, MarketplaceError, type MarketplaceClient } from '../azure/marketplace.ts';
import type { GraphClient } from '../graph/client.ts';
import { isRunFailure } from '../net/failures.ts';
import { VIRTUAL_ENDPOINT } from '../graph/deviceImages.ts';
import type { CheckResult, CheckStatus } from '../results/checks.ts';

/** The only base this toolkit builds from (packer/locals.pkr.hcl): single-session Windows Enterprise Cloud PC. */
export const BASE_PUBLISHER = 'MicrosoftWindowsDesktop';
export const BASE_OFFER = 'windows-ent-cpc';
/** Multi-session bases carry `avd` in the SKU (windows-11 `*-avd`, office-365 `*-avd-m365`). */
const MULTI_SESSION_SKU = /(^|-)avd(-|$)/i;
/** Warn this long before Windows 365's gallery image of the same SKU reaches its end date. */
const END_DATE_WARNING_DAYS = 60;

export const BASE_CHECK_IDS = ['base.offer', 'base.sku', 'base.version', 'base.generation', 'base.support'];

/** The exact Marketplace image the build starts from. */
export interface BaseImage {
  publisher: string;
  offer: string;
  sku: string;
  /** The exact version, never `latest`. */
  version: string;
  /** What the template asked for: `latest` or a pinned version. */
  requested: string;
  location: string;
  hyperVGeneration: string | null;
  features: Array<{ name: string; value: string }>;
  /** Windows 365's gallery image of the same SKU, when it lists one. */
  gallery: { id: string; endDate: string | null; expirationDate: string | null } | null;
}

export interface BaseRequest {
  /** The template's variables as the build will see them (templateValues). */
  values: ReadonlyMap<string, string>;
  marketplace: MarketplaceClient;
  /** Undefined: the gallery is not asked. */
  graph: GraphClient | undefined;
  now: Date;
}

export interface BaseResolution {
  checks: CheckResult[];
  /** Set when every check but base.support's warning passed. */
  base: BaseImage | undefined;
}

interface GalleryImage {
  id: string;
  endDate?: string | null;
  expirationDate?: string | null;
}

function check(
  id: string,
  requirement: string,
  title: string,
  status: CheckStatus,
  detail: string,
  fix: string | null = null,
  errorCode: string | null = null,
): CheckResult {
  return { id, requirement, title, status, detail, errorCode, fix: status === 'pass' ? null : fix };
}

/**
 * Resolves the SKU and exact version Packer will boot from, before anything is built: the SKU must exist in the
 * build location, be single-session and Generation 2; `latest` becomes the newest version ARM lists.
 */
export async function resolveBase(request: BaseRequest): Promise<BaseResolution> {
  const { values, marketplace } = request;
  const checks: CheckResult[] = [];
  const publisher = values.get('image_publisher') ?? BASE_PUBLISHER;
  const offer = values.get('image_offer') ?? BASE_OFFER;
  const givenSku = values.get('image_sku') ?? '';
  const sku =
    values.get('use_m365_sku') === 'true' && !givenSku.endsWith('-m365') ? `${givenSku}-m365` : givenSku;
  const requested = values.get('image_version') || 'latest';
  const name = `${publisher}/${offer}/${sku}`;

  const singleSession =
    publisher.toLowerCase() === BASE_PUBLISHER.toLowerCase() &&
    offer.toLowerCase() === BASE_OFFER &&
    !MULTI_SESSION_SKU.test(sku);
  const location = await buildLocation(values, marketplace);
  const cloudPcSkus = singleSession ? [] : await marketplace.skus(location, BASE_PUBLISHER, BASE_OFFER);
  checks.push(
    check(
      'base.offer',
      'R4',
      'Single-session Cloud PC base',
      singleSession ? 'pass' : 'fail',
      singleSession
        ? `${name} is a single-session Windows Enterprise Cloud PC base.`
        : `${name} is not a single-session base of ${BASE_PUBLISHER}/${BASE_OFFER} (multi-session bases are rejected by Windows 365). SKUs of ${BASE_OFFER} in ${location}: ${cloudPcSkus.filter((k) => !MULTI_SESSION_SKU.test(k)).join(', ') || 'none'}.`,
      `Build from ${BASE_PUBLISHER}/${BASE_OFFER} with a single-session SKU such as win11-25h2-ent-cpc (image_sku).`,
      'osVersionNotSupported',
    ),
  );
  if (!singleSession) return { checks, base: undefined };

  const skus = await marketplace.skus(location, publisher, offer);
  const skuName = skus.find((s) => s.toLowerCase() === sku.toLowerCase());
  checks.push(
    check(
      'base.sku',
      'R1',
      'Base SKU exists',
      skuName ? 'pass' : 'fail',
      skuName
        ? `${name} is offered in ${location}.`
        : `SKU '${sku}' of ${publisher}/${offer} is not offered in ${location}. SKUs there: ${skus.length > 0 ? skus.join(', ') : 'none (the offer is not available in this location)'}.`,
      'Set image_sku to one of the listed SKUs (or build in a location that offers it).',
    ),
  );
  if (!skuName) return { checks, base: undefined };

  const versions = (await marketplace.versions(location, publisher, offer, skuName)).sort(
    compareImageVersions,
  );
  const version = requested === 'latest' ? versions.at(-1) : versions.find((v) => v === requested);
  const image = version ? await marketplace.version(location, publisher, offer, skuName, version) : undefined;
  checks.push(
    check(
      'base.version',
      'R1',
      'Base version exists',
      image ? 'pass' : 'fail',
      image
        ? `${requested === 'latest' ? 'Newest' : 'Pinned'} version ${image.version} of ${publisher}/${offer}/${skuName}.`
        : `Version '${requested}' of ${publisher}/${offer}/${skuName} is not offered in ${location}. Newest versions: ${versions.slice(-5).reverse().join(', ') || 'none'}.`,
      "Set image_version to 'latest' or to one of the listed versions.",
    ),
  );
  if (!image) return { checks, base: undefined };

  const gen2 = image.hyperVGeneration === 'V2';
  checks.push(
    check(
      'base.generation',
      'R2',
      'Generation 2 base',
      gen2 ? 'pass' : 'fail',
      `${publisher}/${offer}/${skuName} ${image.version} is hyperVGeneration ${image.hyperVGeneration ?? 'unknown'}${gen2 ? '.' : ': the image would inherit it, and Windows 365 takes Gen2 images only.'}`,
      'Choose a Gen2 SKU (every Windows 11 windows-ent-cpc SKU is Gen2).',
      'sourceImageInvalid',
    ),
  );

  const gallery = request.graph
    ? await galleryImage(request.graph, `${publisher}_${offer}_${skuName}`)
    : undefined;
  checks.push(supportCheck(gallery, request.now, skuName));
  const base: BaseImage = {
    publisher,
    offer,
    sku: skuName,
    version: image.version,
    requested,
    location,
    hyperVGeneration: image.hyperVGeneration ?? null,
    features: image.features,
    gallery:
      gallery && 'id' in gallery
        ? { id: gallery.id, endDate: gallery.endDate ?? null, expirationDate: gallery.expirationDate ?? null }
        : null,
  };
  const failedAny = checks.some((c) => c.status === 'fail');
  return { checks, base: failedAny ? undefined : base };
}

/** Where Packer builds: `location`, or the location of `build_resource_group_name`. */
async function buildLocation(
  values: ReadonlyMap<string, string>,
  marketplace: MarketplaceClient,
): Promise<string> {
  const location = values.get('location');
  if (location) return location.toLowerCase().replaceAll(' ', '');
  const group = values.get('build_resource_group_name');
  if (group) return (await marketplace.resourceGroupLocation(group)).toLowerCase();
  throw new MarketplaceError(
    'The template has neither location nor build_resource_group_name: set one in packer-vars or a var file.',
    undefined,
  );
}

/** Windows 365's gallery image of the SKU; `{ error }` when Graph could not be asked, undefined when not listed. */
async function galleryImage(
  graph: GraphClient,
  id: string,
): Promise<GalleryImage | { error: string } | undefined> {
  try {
    const images = await graph.list<GalleryImage>(`${VIRTUAL_ENDPOINT}/galleryImages`);
    return images.find((g) => g.id.toLowerCase() === id.toLowerCase());
  } catch (error) {
    // Without the gallery the base is still known; a cancel or the deadline still ends the run.
    if (isRunFailure(error, 'cancelled') || isRunFailure(error, 'deadline')) throw error;
    return { error: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error) };
  }
}

function supportCheck(
  gallery: GalleryImage | { error: string } | undefined,
  now: Date,
  sku: string,
): CheckResult {
  const row = (status: CheckStatus, detail: string) =>
    check(
      'base.support',
      'R1',
      'Base still supported by Windows 365',
      status,
      detail,
      'Move image_sku to a newer Windows release (Windows 11 25H2 or newer is recommended).',
      'osVersionNotSupported',
    );
  if (gallery === undefined)
    return row('skip', `Windows 365's gallery does not list ${sku}: no end date to compare.`);
  if ('error' in gallery) return row('skip', `Could not read Windows 365's gallery: ${gallery.error}`);
  const day = now.toISOString().slice(0, 10);
  if (gallery.expirationDate && gallery.expirationDate <= day)
    return row(
      'fail',
      `Windows 365's gallery image ${gallery.id} expired on ${gallery.expirationDate}: no new Cloud PCs from this release.`,
    );
  const soon = new Date(now.getTime() + END_DATE_WARNING_DAYS * 86_400_000).toISOString().slice(0, 10);
  if (gallery.endDate && gallery.endDate <= soon)
    return row(
      'warn',
      `Windows 365's gallery image ${gallery.id} ${gallery.endDate <= day ? 'reached' : 'reaches'} its end date on ${gallery.endDate} (status supportedWithWarning from then; expires ${gallery.expirationDate ?? 'later'}).`,
    );
  return row(
    'pass',
    `Windows 365's gallery image ${gallery.id} is supported until ${gallery.endDate ?? 'an unannounced date'}.`,
  );
}
