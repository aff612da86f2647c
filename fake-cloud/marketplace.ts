/**
 * Azure Marketplace virtual machine images (ARM `.../locations/{l}/publishers/{p}/artifacttypes/vmimage/offers/{o}/
 * skus/{s}/versions/{v}`) and Windows 365's own gallery (Graph `galleryImages`), with the shapes the services return:
 * ARM's image lists are bare JSON arrays of `{ location, name, id }` (no paging), a version GET carries
 * `properties.hyperVGeneration` and `properties.features`; an unknown publisher, offer, SKU or version is a 404.
 */

/** One Marketplace image version, in every location unless `locations` says otherwise. */
export interface MarketplaceImageSpec {
  publisher: string;
  offer: string;
  sku: string;
  version: string;
  hyperVGeneration?: 'V1' | 'V2';
  /** Default: Trusted Launch supported, accelerated networking, SCSI and NVMe. */
  features?: Array<{ name: string; value: string }>;
  locations?: string[];
}

export interface MarketplaceImage extends Required<Omit<MarketplaceImageSpec, 'locations'>> {
  locations: string[] | null;
}

/** cloudPcGalleryImage, as Graph v1.0 returns it. */
export interface GalleryImage {
  id: string;
  displayName: string;
  publisherName: string;
  offerName: string;
  skuName: string;
  startDate: string;
  endDate: string;
  expirationDate: string;
  sizeInGB: number;
  status: 'supported' | 'supportedWithWarning' | 'notSupported';
}

export interface GalleryImageSpec extends Partial<GalleryImage> {
  publisherName: string;
  offerName: string;
  skuName: string;
}

const DEFAULT_FEATURES = [
  { name: 'SecurityType', value: 'TrustedLaunchSupported' },
  { name: 'IsAcceleratedNetworkSupported', value: 'True' },
  { name: 'DiskControllerTypes', value: 'SCSI, NVMe' },
  { name: 'IsHibernateSupported', value: 'True' },
];

export function marketplaceImage(spec: MarketplaceImageSpec): MarketplaceImage {
  return {
    publisher: spec.publisher,
    offer: spec.offer,
    sku: spec.sku,
    version: spec.version,
    hyperVGeneration: spec.hyperVGeneration ?? 'V2',
    features: spec.features ?? DEFAULT_FEATURES,
    locations: spec.locations?.map((l) => l.toLowerCase()) ?? null,
  };
}

export function galleryImage(spec: GalleryImageSpec): GalleryImage {
  return {
    id: spec.id ?? `${spec.publisherName}_${spec.offerName}_${spec.skuName}`,
    displayName: spec.displayName ?? spec.skuName,
    publisherName: spec.publisherName,
    offerName: spec.offerName,
    skuName: spec.skuName,
    startDate: spec.startDate ?? '2025-10-01',
    endDate: spec.endDate ?? '2028-10-10',
    expirationDate: spec.expirationDate ?? '2029-04-10',
    sizeInGB: spec.sizeInGB ?? 64,
    status: spec.status ?? 'supported',
  };
}

/** What a new fake cloud offers: the Cloud PC offer's Gen2 single-session SKUs, two versions each, and a multi-session offer. */
export function defaultMarketplace(): MarketplaceImage[] {
  const images: MarketplaceImageSpec[] = [];
  for (const [sku, versions] of [
    ['win11-24h2-ent-cpc', ['26100.4946.250810', '26100.6584.250910']],
    ['win11-24h2-ent-cpc-m365', ['26100.4946.250810', '26100.6584.250910']],
    ['win11-25h2-ent-cpc', ['26200.6584.250910', '26200.6899.251014']],
    ['win11-25h2-ent-cpc-m365', ['26200.6584.250910', '26200.6899.251014']],
  ] as const) {
    for (const version of versions)
      images.push({ publisher: 'MicrosoftWindowsDesktop', offer: 'windows-ent-cpc', sku, version });
  }
  images.push({
    publisher: 'MicrosoftWindowsDesktop',
    offer: 'windows-11',
    sku: 'win11-25h2-avd',
    version: '26200.6899.251014',
  });
  return images.map(marketplaceImage);
}

export function defaultGallery(): GalleryImage[] {
  return [
    'win11-24h2-ent-cpc',
    'win11-24h2-ent-cpc-m365',
    'win11-25h2-ent-cpc',
    'win11-25h2-ent-cpc-m365',
  ].map((skuName) =>
    galleryImage({
      publisherName: 'MicrosoftWindowsDesktop',
      offerName: 'windows-ent-cpc',
      skuName,
      displayName: `Windows 11 Enterprise ${skuName.includes('24h2') ? '24H2' : '25H2'}${skuName.endsWith('-m365') ? ' + Microsoft 365 Apps' : ''}`,
      endDate: skuName.includes('24h2') ? '2027-10-12' : '2028-10-10',
      expirationDate: skuName.includes('24h2') ? '2028-04-11' : '2029-04-10',
    }),
  );
}

export const VMIMAGE_PATH =
  /^\/subscriptions\/[^/]+\/providers\/Microsoft\.Compute\/locations\/([^/]+)\/publishers\/([^/]+)\/artifacttypes\/vmimage\/offers\/([^/]+)\/skus(?:\/([^/]+)\/versions(?:\/([^/]+))?)?\/?$/i;
/** The location's publishers, or a publisher's offers. */
export const VMIMAGE_LIST_PATH =
  /^\/subscriptions\/[^/]+\/providers\/Microsoft\.Compute\/locations\/([^/]+)\/publishers(?:\/([^/]+)\/artifacttypes\/vmimage\/offers)?\/?$/i;

export type MarketplaceReply = { status: number; body: unknown };

/** Compares Marketplace versions (N.N.N) numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** GET of the publisher list or a publisher's offer list (404 for a publisher without images here). */
export function marketplaceListGet(
  images: readonly MarketplaceImage[],
  subscriptionId: string,
  match: RegExpExecArray,
): MarketplaceReply {
  const loc = decodeURIComponent(match[1] ?? '').toLowerCase();
  const publisher = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
  const here = images.filter((i) => i.locations === null || i.locations.includes(loc));
  const base = `/Subscriptions/${subscriptionId}/Providers/Microsoft.Compute/Locations/${loc}/Publishers`;
  if (publisher === undefined) {
    const names = [...new Set(here.map((i) => i.publisher))].sort();
    return { status: 200, body: names.map((n) => ({ location: loc, name: n, id: `${base}/${n}` })) };
  }
  const own = here.filter((i) => i.publisher.toLowerCase() === publisher.toLowerCase());
  if (own.length === 0)
    return {
      status: 404,
      body: { error: { code: 'NotFound', message: 'Artifact: VMImage was not found.' } },
    };
  const offers = [...new Set(own.map((i) => i.offer))].sort();
  return {
    status: 200,
    body: offers.map((o) => ({
      location: loc,
      name: o,
      id: `${base}/${own[0]?.publisher}/ArtifactTypes/VMImage/Offers/${o}`,
    })),
  };
}

/** GET of the SKU list, a SKU's version list or one version. */
export function marketplaceGet(
  images: readonly MarketplaceImage[],
  subscriptionId: string,
  match: RegExpExecArray,
): MarketplaceReply {
  const [location, publisher, offer, sku, version] = match
    .slice(1)
    .map((s) => (s === undefined ? s : decodeURIComponent(s)));
  const loc = (location ?? '').toLowerCase();
  const eq = (a: string, b: string | undefined) => a.toLowerCase() === (b ?? '').toLowerCase();
  const here = images.filter((i) => i.locations === null || i.locations.includes(loc));
  const inOffer = here.filter((i) => eq(i.publisher, publisher) && eq(i.offer, offer));
  const notFound: MarketplaceReply = {
    status: 404,
    body: { error: { code: 'NotFound', message: 'Artifact: VMImage was not found.' } },
  };
  if (inOffer.length === 0) return notFound;
  const base = `/Subscriptions/${subscriptionId}/Providers/Microsoft.Compute/Locations/${loc}/Publishers/${inOffer[0]?.publisher}/ArtifactTypes/VMImage/Offers/${inOffer[0]?.offer}`;
  if (sku === undefined) {
    const skus = [...new Set(inOffer.map((i) => i.sku))].sort();
    return {
      status: 200,
      body: skus.map((s) => ({
        location: loc,
        name: s,
        id: `${base}/Skus/${s}`,
        properties: { automaticOSUpgradeProperties: { automaticOSUpgradeSupported: false } },
      })),
    };
  }
  const inSku = inOffer.filter((i) => eq(i.sku, sku));
  if (inSku.length === 0) return notFound;
  const skuName = inSku[0]?.sku ?? sku;
  if (version === undefined) {
    const versions = inSku.map((i) => i.version).sort(compareVersions);
    return {
      status: 200,
      body: versions.map((v) => ({ location: loc, name: v, id: `${base}/Skus/${skuName}/Versions/${v}` })),
    };
  }
  const image = inSku.find((i) => i.version === version);
  if (!image) return notFound;
  return {
    status: 200,
    body: {
      properties: {
        hyperVGeneration: image.hyperVGeneration,
        architecture: 'x64',
        replicaType: 'Managed',
        disallowed: { vmDiskType: 'Unmanaged' },
        automaticOSUpgradeProperties: { automaticOSUpgradeSupported: false },
        imageDeprecationStatus: { imageState: 'Active' },
        features: image.features.map((f) => ({ ...f })),
        osDiskImage: { operatingSystem: 'Windows', sizeInGb: 127 },
        dataDiskImages: [],
      },
      location: loc,
      name: image.version,
      id: `${base}/Skus/${skuName}/Versions/${image.version}`,
    },
  };
}
