import { randomUUID } from 'node:crypto';
import {
  defaultGallery,
  defaultMarketplace,
  galleryImage,
  marketplaceImage,
  type GalleryImage,
  type GalleryImageSpec,
  type MarketplaceImage,
  type MarketplaceImageSpec,
} from './marketplace.ts';

export type CloudName = 'public' | 'usgov';
export type ServiceName = 'github' | 'entra' | 'arm' | 'graph' | 'control';

export interface DataDisk {
  lun: number;
  diskSizeGB: number;
}

/** What Windows 365 does with an upload from this image, overriding the checks of the image's properties. */
export type UploadOutcome = { errorCode: string } | 'never';

export interface ManagedImageSpec {
  resourceGroup: string;
  name: string;
  location?: string;
  hyperVGeneration?: 'V1' | 'V2';
  osState?: 'Generalized' | 'Specialized';
  osType?: 'Windows' | 'Linux';
  diskSizeGB?: number;
  dataDisks?: Array<{ lun?: number; diskSizeGB?: number }>;
  diskEncryptionSetId?: string;
  tags?: Record<string, string>;
  provisioningState?: string;
  sourceVirtualMachineId?: string;
  /** ARM answers 403 AuthorizationFailed to the caller for this image. */
  forbidden?: boolean;
  uploadOutcome?: UploadOutcome;
  /**
   * false: Windows 365's service principal has no Reader on the image (getSourceImages leaves it out, and an upload
   * fails with sourceImageNotFound). Default true.
   */
  windows365CanRead?: boolean;
  /** ISO time ARM reports as systemData.createdAt (default: the virtual time the image was added). */
  createdAt?: string;
  /** ARM leaves systemData out of its answer (not every API version returns it). */
  withoutSystemData?: boolean;
  /** The Windows inside the image, as Windows 365 reports it on the device image (default: Windows 11 25H2). */
  windows?: WindowsInImage;
}

export interface WindowsInImage {
  operatingSystem: string;
  /** Graph's osBuildNumber holds the release label, for example 25H2. */
  osBuildNumber: string;
  osVersionNumber: string;
}

export const DEFAULT_WINDOWS: WindowsInImage = {
  operatingSystem: 'Windows 11 Enterprise',
  osBuildNumber: '25H2',
  osVersionNumber: '10.0.26200.7171',
};

export interface ManagedImage {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  hyperVGeneration: 'V1' | 'V2';
  osState: 'Generalized' | 'Specialized';
  osType: 'Windows' | 'Linux';
  diskSizeGB: number;
  dataDisks: DataDisk[];
  diskEncryptionSetId?: string;
  tags: Record<string, string>;
  provisioningState: string;
  sourceVirtualMachineId: string;
  forbidden: boolean;
  uploadOutcome?: UploadOutcome;
  windows365CanRead: boolean;
  /** undefined: ARM answers without systemData. */
  createdAt: string | undefined;
  windows?: WindowsInImage;
}

export type DeviceImageStatus = 'pending' | 'ready' | 'failed' | 'warning';

export interface DeviceImage {
  id: string;
  displayName: string;
  version: string;
  sourceImageResourceId: string;
  status: DeviceImageStatus;
  errorCode: string | null;
  statusDetails: string | null;
  operatingSystem: string | null;
  osBuildNumber: string | null;
  osVersionNumber: string | null;
  osStatus: 'supported' | 'supportedWithWarning' | 'unknown';
  sizeInGB: number | null;
  expirationDate: string | null;
  lastModifiedDateTime: string;
}

export interface DeviceImageSpec extends Partial<DeviceImage> {
  displayName: string;
  version: string;
  /** For a seeded `pending` image: what the upload ends in (default: computed from the source image). */
  uploadOutcome?: UploadOutcome;
}

/** Internal bookkeeping of a running upload. */
export interface PendingUpload {
  /** Virtual ms when the upload finishes; undefined = never. */
  dueAt: number | undefined;
  errorCode: string | null;
}

export interface ProvisioningPolicy {
  id: string;
  displayName: string;
  description: string;
  imageId: string;
  imageDisplayName: string;
  imageType: 'custom' | 'gallery';
  cloudPcNamingTemplate: string;
  enableSingleSignOn: boolean;
  localAdminEnabled: boolean;
  managedBy: string;
  provisioningType: string;
  gracePeriodInHours: number;
  alternateResourceUrl: string | null;
  cloudPcGroupDisplayName: string | null;
  onPremisesConnectionId: string | null;
  domainJoinConfigurations: Array<Record<string, unknown>>;
  windowsSetting: { locale: string };
  microsoftManagedDesktop: { managedType: string; profile: string | null };
}

export interface ProvisioningPolicySpec extends Partial<ProvisioningPolicy> {
  displayName: string;
  imageId: string;
  imageType: 'custom' | 'gallery';
}

export interface ArmOperation {
  id: string;
  imageKey: string;
  location: string;
  startedAt: number;
  doneAt: number;
  /** The image has been removed (a later image of the same name is not touched). */
  completed: boolean;
}

export interface RecordedRequest {
  service: ServiceName;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** Status the fake computed before an `after` fault replaced it. */
  handledStatus?: number;
  prefer?: string;
  injected?: string;
  /** Virtual ms at arrival. */
  at: number;
}

export interface Counters {
  idTokens: number;
  accessTokens: number;
  azTokens: number;
  deviceImageCreates: number;
  deviceImageDeletes: number;
  retryUploads: number;
  reuploadCalls: number;
  policyPatches: number;
  armDeletes: number;
  faultsApplied: number;
  /** ARM reads of Marketplace VM images (SKU lists, version lists, versions). */
  marketplaceReads: number;
}

export function newCounters(): Counters {
  return {
    idTokens: 0,
    accessTokens: 0,
    azTokens: 0,
    deviceImageCreates: 0,
    deviceImageDeletes: 0,
    retryUploads: 0,
    reuploadCalls: 0,
    policyPatches: 0,
    armDeletes: 0,
    faultsApplied: 0,
    marketplaceReads: 0,
  };
}

export const PLAN_TAGS = ['PlanName', 'PlanProduct', 'PlanPublisher'];
export const MAX_DEVICE_IMAGES = 20;

export function managedImageId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/images/${name}`;
}

/** ARM resource IDs compare case-insensitively. */
export function armKey(id: string): string {
  return id.toLowerCase();
}

/** The resources of the fake cloud. Time-driven transitions are applied lazily by `advance`. */
export class CloudState {
  readonly subscriptionId: string;
  /** lower-case name -> name as created */
  readonly resourceGroups = new Map<string, string>();
  /** Marketplace VM images ARM lists; Windows 365 gallery images Graph lists. */
  readonly marketplace: MarketplaceImage[] = defaultMarketplace();
  readonly galleryImages: GalleryImage[] = defaultGallery();
  /** armKey(id) -> image */
  readonly managedImages = new Map<string, ManagedImage>();
  readonly deviceImages = new Map<string, DeviceImage>();
  readonly uploads = new Map<string, PendingUpload>();
  readonly policies = new Map<string, ProvisioningPolicy>();
  readonly armOperations = new Map<string, ArmOperation>();
  /** Device image id -> virtual ms it was created: lists leave it out until the list lag has passed. */
  readonly deviceImageCreatedAt = new Map<string, number>();
  private readonly clock: { now(): number };
  private readonly uploadMs: number;

  constructor(subscriptionId: string, clock: { now(): number }, uploadSeconds: number) {
    this.subscriptionId = subscriptionId;
    this.clock = clock;
    this.uploadMs = uploadSeconds * 1000;
  }

  /** Applies every transition whose virtual due time has passed. */
  advance(): void {
    const now = this.clock.now();
    for (const [id, upload] of this.uploads) {
      if (upload.dueAt === undefined || upload.dueAt > now) continue;
      const image = this.deviceImages.get(id);
      this.uploads.delete(id);
      if (!image) continue;
      image.status = upload.errorCode ? 'failed' : 'ready';
      image.errorCode = upload.errorCode;
      image.lastModifiedDateTime = new Date(upload.dueAt).toISOString();
    }
    // Operation records stay, so that late polls still see Succeeded; the image goes when its delete is done.
    for (const op of this.armOperations.values()) {
      if (op.completed || op.doneAt > now) continue;
      op.completed = true;
      this.managedImages.delete(op.imageKey);
    }
  }

  addResourceGroup(name: string): void {
    if (!this.resourceGroups.has(name.toLowerCase())) this.resourceGroups.set(name.toLowerCase(), name);
  }

  addMarketplaceImage(spec: MarketplaceImageSpec): MarketplaceImage {
    const image = marketplaceImage(spec);
    this.marketplace.push(image);
    return image;
  }

  /** Replaces the gallery image with the same id. */
  addGalleryImage(spec: GalleryImageSpec): GalleryImage {
    const image = galleryImage(spec);
    const at = this.galleryImages.findIndex((g) => g.id === image.id);
    if (at === -1) this.galleryImages.push(image);
    else this.galleryImages[at] = image;
    return image;
  }

  addManagedImage(spec: ManagedImageSpec): ManagedImage {
    if (!spec.resourceGroup || !spec.name) throw new Error('addManagedImage needs resourceGroup and name');
    this.addResourceGroup(spec.resourceGroup);
    const group = this.resourceGroups.get(spec.resourceGroup.toLowerCase()) ?? spec.resourceGroup;
    const id = managedImageId(this.subscriptionId, group, spec.name);
    const image: ManagedImage = {
      id,
      name: spec.name,
      resourceGroup: group,
      location: spec.location ?? 'westeurope',
      hyperVGeneration: spec.hyperVGeneration ?? 'V2',
      osState: spec.osState ?? 'Generalized',
      osType: spec.osType ?? 'Windows',
      diskSizeGB: spec.diskSizeGB ?? 64,
      dataDisks: (spec.dataDisks ?? []).map((d, i) => ({ lun: d.lun ?? i, diskSizeGB: d.diskSizeGB ?? 32 })),
      tags: { ...(spec.tags ?? {}) },
      provisioningState: spec.provisioningState ?? 'Succeeded',
      sourceVirtualMachineId:
        spec.sourceVirtualMachineId ??
        `/subscriptions/${this.subscriptionId}/resourceGroups/pkr-Resource-Group-${spec.name}/providers/Microsoft.Compute/virtualMachines/pkrvm${spec.name}`,
      forbidden: spec.forbidden ?? false,
      windows365CanRead: spec.windows365CanRead ?? true,
      createdAt: spec.withoutSystemData
        ? undefined
        : (spec.createdAt ?? new Date(this.clock.now()).toISOString()),
    };
    if (spec.diskEncryptionSetId !== undefined) image.diskEncryptionSetId = spec.diskEncryptionSetId;
    if (spec.uploadOutcome !== undefined) image.uploadOutcome = spec.uploadOutcome;
    if (spec.windows !== undefined) image.windows = spec.windows;
    this.managedImages.set(armKey(id), image);
    return structuredClone(image);
  }

  /** The errorCode Windows 365 gives an upload of this source, looked at now; null = the upload succeeds. */
  uploadErrorCode(sourceImageResourceId: string): UploadOutcome | null {
    const image = this.managedImages.get(armKey(sourceImageResourceId));
    if (image?.uploadOutcome !== undefined) return image.uploadOutcome;
    if (!image || image.provisioningState === 'Deleting' || !image.windows365CanRead)
      return { errorCode: 'sourceImageNotFound' };
    if (image.osType !== 'Windows') return { errorCode: 'osVersionNotSupported' };
    if (image.osState !== 'Generalized') return { errorCode: 'sourceImageNotGeneralized' };
    if (image.hyperVGeneration !== 'V2') return { errorCode: 'sourceImageInvalid' };
    if (image.diskSizeGB > 64) return { errorCode: 'sourceImageSizeExceedsLimitation' };
    if (image.dataDisks.length > 0) return { errorCode: 'sourceImageInvalid' };
    if (image.diskEncryptionSetId) return { errorCode: 'sourceImageInvalid' };
    if (Object.keys(image.tags).some((t) => PLAN_TAGS.includes(t)))
      return { errorCode: 'paidSourceImageNotSupport' };
    if (image.provisioningState !== 'Succeeded') return { errorCode: 'sourceImageInvalid' };
    return null;
  }

  /** Starts (or restarts) the upload of a device image from its source as it is now. */
  startUpload(image: DeviceImage, outcome?: UploadOutcome | null): void {
    const result = outcome === undefined ? this.uploadErrorCode(image.sourceImageResourceId) : outcome;
    const now = this.clock.now();
    image.status = 'pending';
    image.errorCode = null;
    image.lastModifiedDateTime = new Date(now).toISOString();
    this.uploads.set(image.id, {
      dueAt: result === 'never' ? undefined : now + this.uploadMs,
      errorCode: result === null || result === 'never' ? null : result.errorCode,
    });
  }

  addDeviceImage(spec: DeviceImageSpec): DeviceImage {
    const now = new Date(this.clock.now());
    const source =
      spec.sourceImageResourceId ??
      managedImageId(
        this.subscriptionId,
        'rg-images',
        `${spec.displayName}-${spec.version}`.replace(/[^\w.-]/g, '-'),
      );
    const image: DeviceImage = {
      id: spec.id ?? randomUUID(),
      displayName: spec.displayName,
      version: spec.version,
      sourceImageResourceId: source,
      status: spec.status ?? 'ready',
      errorCode: spec.errorCode ?? null,
      statusDetails: spec.statusDetails ?? null,
      operatingSystem: spec.operatingSystem ?? 'Windows 11 Enterprise',
      osBuildNumber: spec.osBuildNumber ?? '24H2',
      osVersionNumber: spec.osVersionNumber ?? '10.0.26100.4946',
      osStatus: spec.osStatus ?? 'supported',
      sizeInGB: spec.sizeInGB ?? 64,
      expirationDate: spec.expirationDate ?? expirationDateFrom(now),
      lastModifiedDateTime: spec.lastModifiedDateTime ?? now.toISOString(),
    };
    if (image.status === 'failed' && image.errorCode === null) image.errorCode = 'internalServerError';
    this.deviceImages.set(image.id, image);
    this.deviceImageCreatedAt.set(image.id, now.getTime());
    if (image.status === 'pending') this.startUpload(image, spec.uploadOutcome);
    return structuredClone(image);
  }

  addProvisioningPolicy(spec: ProvisioningPolicySpec): ProvisioningPolicy {
    const policy: ProvisioningPolicy = {
      id: spec.id ?? randomUUID(),
      displayName: spec.displayName,
      description: spec.description ?? '',
      imageId: spec.imageId,
      imageDisplayName: spec.imageDisplayName ?? spec.imageId,
      imageType: spec.imageType,
      cloudPcNamingTemplate: spec.cloudPcNamingTemplate ?? 'CPC-%USERNAME:5%-%RAND:5%',
      enableSingleSignOn: spec.enableSingleSignOn ?? true,
      localAdminEnabled: spec.localAdminEnabled ?? false,
      managedBy: spec.managedBy ?? 'windows365',
      provisioningType: spec.provisioningType ?? 'dedicated',
      gracePeriodInHours: spec.gracePeriodInHours ?? 4,
      alternateResourceUrl: spec.alternateResourceUrl ?? null,
      cloudPcGroupDisplayName: spec.cloudPcGroupDisplayName ?? null,
      onPremisesConnectionId: spec.onPremisesConnectionId ?? null,
      domainJoinConfigurations: spec.domainJoinConfigurations ?? [
        {
          onPremisesConnectionId: null,
          domainJoinType: 'azureADJoin',
          type: 'azureADJoin',
          regionName: 'automatic',
        },
      ],
      windowsSetting: spec.windowsSetting ?? { locale: 'en-US' },
      microsoftManagedDesktop: spec.microsoftManagedDesktop ?? { managedType: 'notManaged', profile: null },
    };
    this.policies.set(policy.id, policy);
    return structuredClone(policy);
  }

  snapshot(): unknown {
    this.advance();
    return structuredClone({
      resourceGroups: [...this.resourceGroups.values()].sort(),
      managedImages: [...this.managedImages.values()],
      deviceImages: [...this.deviceImages.values()],
      uploads: Object.fromEntries(this.uploads),
      provisioningPolicies: [...this.policies.values()],
      armOperations: [...this.armOperations.values()],
    });
  }
}

/** Custom images are kept for a while after their OS leaves support; the fake says three years. */
export function expirationDateFrom(date: Date): string {
  const d = new Date(date);
  d.setUTCFullYear(d.getUTCFullYear() + 3);
  return d.toISOString().slice(0, 10);
}
