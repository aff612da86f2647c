import { describe, expect, it } from 'vitest';
import type { ImageRead, ManagedImage } from '../../src/azure/managedImage.ts';
import { checkWindows365CanSee, validateImage } from '../../src/validate/validate.ts';

const SUB = '11111111-2222-3333-4444-555555555555';
const ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/img`;

function goodImage(): ManagedImage {
  return {
    id: ID,
    name: 'img',
    location: 'westeurope',
    tags: { source: 'packer' },
    provisioningState: 'Succeeded',
    hyperVGeneration: 'V2',
    storageProfile: {
      osDisk: {
        osType: 'Windows',
        osState: 'Generalized',
        diskSizeGB: 64,
        storageAccountType: 'Premium_LRS',
      },
      dataDisks: [],
    },
  } as ManagedImage;
}

async function validate(image: ManagedImage | ImageRead, imageId = ID, subscriptionId?: string) {
  const reads: string[] = [];
  const result = await validateImage({
    imageId,
    subscriptionId,
    read: async (id) => {
      reads.push(id.id);
      return 'ok' in image ? (image as ImageRead) : { ok: true, image: image as ManagedImage };
    },
  });
  return { ...result, reads };
}

const statusOf = (checks: { id: string; status: string }[], id: string) =>
  checks.find((c) => c.id === id)?.status;

describe('validateImage', () => {
  it('passes a Gen2, generalized, 64 GB Windows image', async () => {
    const result = await validate(goodImage());
    expect(result.passed).toBe(true);
    expect(result.checks.every((c) => c.status === 'pass')).toBe(true);
    expect(result.checks.map((c) => c.id)).toContain('image.no-purchase-plan');
  });

  it('reports every failure with its requirement, errorCode and fix, not just the first', async () => {
    const image = goodImage();
    image.hyperVGeneration = 'V1';
    image.storageProfile!.osDisk!.osState = 'Specialized';
    image.storageProfile!.osDisk!.diskSizeGB = 128;
    image.storageProfile!.dataDisks = [{ lun: 0, diskSizeGB: 32 }];
    image.storageProfile!.osDisk!.diskEncryptionSet = {
      id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/des`,
    };
    image.tags = { PlanName: 'x', planProduct: 'y' };
    const result = await validate(image);
    expect(result.passed).toBe(false);
    const failures = result.checks.filter((c) => c.status === 'fail');
    expect(failures.map((c) => [c.id, c.requirement, c.errorCode])).toEqual([
      ['image.generalized', 'R3', 'sourceImageNotGeneralized'],
      ['image.generation', 'R2', 'sourceImageInvalid'],
      ['image.os-disk-size', 'R7', 'sourceImageSizeExceedsLimitation'],
      ['image.no-data-disks', 'R8', 'sourceImageInvalid'],
      ['image.no-disk-encryption-set', 'R9', 'sourceImageInvalid'],
      ['image.no-purchase-plan', 'R10', 'paidSourceImageNotSupport'],
    ]);
    expect(failures.every((c) => c.fix && c.fix.length > 20)).toBe(true);
    expect(failures.find((c) => c.id === 'image.os-disk-size')?.detail).toContain('128 GB');
  });

  it('treats a missing hyperVGeneration as Gen1', async () => {
    const image = goodImage();
    delete image.hyperVGeneration;
    expect(statusOf((await validate(image)).checks, 'image.generation')).toBe('fail');
  });

  it('warns when the OS disk size is not stated', async () => {
    const image = goodImage();
    delete image.storageProfile!.osDisk!.diskSizeGB;
    const result = await validate(image);
    expect(statusOf(result.checks, 'image.os-disk-size')).toBe('warn');
    expect(result.passed).toBe(true);
  });

  it('never reads Azure for a malformed image-id', async () => {
    const result = await validate(goodImage(), 'https://acct.blob.core.windows.net/vhds/os.vhd');
    expect(result.reads).toEqual([]);
    expect(statusOf(result.checks, 'image-id.shape')).toBe('fail');
    expect(result.checks.filter((c) => c.id.startsWith('image.')).every((c) => c.status === 'skip')).toBe(
      true,
    );
  });

  it('rejects a subscription-id that contradicts image-id', async () => {
    const result = await validate(goodImage(), ID, '99999999-2222-3333-4444-555555555555');
    expect(result.reads).toEqual([]);
    expect(result.checks[0]?.detail).toContain('differs');
  });

  it('explains a 404 and names the Windows 365 service principal', async () => {
    const result = await validate({ ok: false, status: 404, code: 'ResourceNotFound', message: 'not found' });
    const readable = result.checks.find((c) => c.id === 'image.readable');
    expect(readable?.status).toBe('fail');
    expect(readable?.detail).toContain("Image 'img' does not exist");
    expect(readable?.fix).toContain('0af06dc6-e4b5-4f28-818e-e78e62d137a5');
  });
});

describe('checkWindows365CanSee', () => {
  const image = { id: ID, subscriptionId: SUB, resourceGroup: 'rg', name: 'img' };

  /** A clock whose sleeps pass at once, counting virtual time. */
  function instantClock() {
    let now = 0;
    return { now: () => now, sleep: async (ms: number) => void (now += ms) };
  }

  function lister(answers: Array<Array<{ resourceId: string }>>) {
    let calls = 0;
    const list = async () => answers[Math.min(calls++, answers.length - 1)] ?? [];
    return { list, calls: () => calls };
  }

  it('passes when Graph lists the image, comparing IDs without case', async () => {
    const graph = lister([[{ resourceId: ID.toLowerCase() }]]);
    const check = await checkWindows365CanSee({
      image,
      listSourceImages: graph.list,
      clock: instantClock(),
      settleMs: 0,
    });
    expect(check).toMatchObject({ id: 'image.windows365-can-read', status: 'pass', requirement: 'R11' });
  });

  it('keeps looking for a freshly built image until it shows up, within the settle time', async () => {
    const graph = lister([[], [], [{ resourceId: ID }]]);
    const clock = instantClock();
    const check = await checkWindows365CanSee({
      image,
      listSourceImages: graph.list,
      clock,
      settleMs: 180_000,
    });
    expect(check.status).toBe('pass');
    expect(graph.calls()).toBe(3);
    expect(clock.now()).toBe(60_000);
  });

  it('fails after the settle time with the role, the command and the grant', async () => {
    const graph = lister([[{ resourceId: `${ID}-other` }]]);
    const clock = instantClock();
    const check = await checkWindows365CanSee({
      image,
      listSourceImages: graph.list,
      clock,
      settleMs: 90_000,
    });
    expect(check.status).toBe('fail');
    expect(clock.now()).toBe(90_000);
    expect(graph.calls()).toBe(4);
    expect(check.detail).toContain('looked 4 times');
    expect(check.fix).toContain(
      `az role assignment create --assignee 0af06dc6-e4b5-4f28-818e-e78e62d137a5 --role Reader --scope /subscriptions/${SUB}/resourceGroups/rg`,
    );
    expect(check.fix).toContain('Subscriptions.Read');
  });

  it('is unverified, never a pass, when Graph cannot be asked', async () => {
    const check = await checkWindows365CanSee({
      image,
      listSourceImages: async () => {
        throw new Error('Graph GET .../getSourceImages failed: 403 Forbidden');
      },
      clock: instantClock(),
      settleMs: 0,
    });
    expect(check.status).toBe('unverified');
    expect(check.fix).toContain('CloudPC.Read.All');
  });
});
