import { describe, expect, it } from 'vitest';
import type { FakeCloud } from '../../fake-cloud/index.ts';
import { creates, fakeInputs, runAction, SCALE, useFakeCloud } from './harness.ts';

const cloud = useFakeCloud();

const graphRequests = (f: FakeCloud) => f.requests.filter((r) => r.service === 'graph');

describe('dist/index.js as a workflow step, against the fake cloud', () => {
  it('validates, registers and waits until ready', async () => {
    const f = await cloud();
    const image = f.addManagedImage({
      resourceGroup: 'images',
      name: 'win11-cpc',
      createdAt: '2026-11-02T08:15:30Z',
    });
    const run = await runAction(
      f,
      { 'image-id': image.id, 'display-name': 'Win11 Corp', ...fakeInputs(f) },
      { timeScale: SCALE },
    );

    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({
      'image-id': image.id,
      'display-name': 'Win11 Corp',
      // Derived from the image's creation time, not from the run.
      version: '2026.1102.81530',
      status: 'ready',
    });
    expect(run.outputs['device-image-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(f.counters.deviceImageCreates).toBe(1);
    expect(creates(f)).toHaveLength(1);
    // Every Graph call asks for the newer enum members.
    expect(graphRequests(f).every((r) => r.prefer?.includes('include-unknown-enum-members'))).toBe(true);
    // Log groups and the job summary.
    expect(run.stdout).toContain('::group::Validate the managed image');
    expect(run.stdout).toContain('::group::Register with Windows 365');
    // No group is empty.
    expect(run.stdout).not.toMatch(/^::group::.*\n::(?:end)?group::/m);
    expect(run.summary).toContain('| `image.generation` | R2 | ✅ pass |');
    expect(run.summary).toContain('Registered: ready in Windows 365');
    expect(run.summary).toContain(`https://portal.azure.com/#@${f.tenantId}/resource${image.id}`);
    expect(run.summary).toContain('https://intune.microsoft.com/');
    // The JSON report.
    expect(run.report).toMatchObject({
      outcome: 'ready',
      registration: { deviceImageId: run.outputs['device-image-id'], status: 'ready', created: true },
    });
    expect(run.report?.checks.filter((c) => c.status === 'pass')).toHaveLength(11);
    expect(run.summary).toContain('| `image.windows365-can-read` | R11 | ✅ pass |');
    expect(run.outputs['report-path']).toMatch(/w365-image-report\.json$/);
  });

  it('never prints a token', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'win11-cpc' });
    const run = await runAction(
      f,
      { 'image-id': image.id, ...fakeInputs(f) },
      { timeScale: SCALE, env: { RUNNER_DEBUG: '1' } },
    );
    expect(run.code).toBe(0);
    // The runner hides values announced with ::add-mask::; everything else must not carry a JWT.
    const everything = [
      run.stdout.replace(/^::add-mask::.*$/gm, ''),
      run.stderr,
      run.summary,
      JSON.stringify(run.report),
    ].join('\n');
    expect(everything).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}/);
    expect(run.stdout).toContain('::add-mask::');
    expect(run.stdout).toContain('Fetched GitHub ID token #1');
  });

  it('register: false validates without calling Graph', async () => {
    const f = await cloud();
    const image = f.addManagedImage({
      resourceGroup: 'images',
      name: 'win11-cpc',
      createdAt: '2026-03-04T05:06:07Z',
    });
    const run = await runAction(f, { 'image-id': image.id, register: 'false', ...fakeInputs(f) });
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('validated');
    expect(run.outputs['device-image-id']).toBe('');
    // The version a registration of this image would use.
    expect(run.outputs.version).toBe('2026.304.50607');
    expect(run.report?.checks.find((c) => c.id === 'image.windows365-can-read')?.status).toBe('skip');
    expect(graphRequests(f)).toHaveLength(0);
  });

  describe('fails before any upload', () => {
    const cases: Array<[string, Parameters<FakeCloud['addManagedImage']>[0] | string, string, RegExp]> = [
      ['a malformed image-id', 'not-an-id', 'image-id.shape', /is not a managed image resource ID/],
      [
        'a gallery image',
        '/subscriptions/0a1b2c3d-2222-4e5f-8a9b-0c1d2e3f4a5b/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/d/versions/1.0.0',
        'image-id.shape',
        /Compute Gallery image/,
      ],
      ['a missing image', '/missing', 'image.readable', /does not exist/],
      [
        'a Gen1 image',
        { resourceGroup: 'images', name: 'gen1', hyperVGeneration: 'V1' },
        'image.generation',
        /V1, not V2/,
      ],
      [
        'a Specialized image',
        { resourceGroup: 'images', name: 'spec', osState: 'Specialized' },
        'image.generalized',
        /Specialized/,
      ],
      [
        'a 128 GB image',
        { resourceGroup: 'images', name: 'big', diskSizeGB: 128 },
        'image.os-disk-size',
        /128 GB/,
      ],
      [
        'an image with a data disk',
        { resourceGroup: 'images', name: 'dd', dataDisks: [{ lun: 0, diskSizeGB: 32 }] },
        'image.no-data-disks',
        /LUN 0/,
      ],
      [
        'an encrypted image',
        {
          resourceGroup: 'images',
          name: 'des',
          diskEncryptionSetId:
            '/subscriptions/0a1b2c3d-2222-4e5f-8a9b-0c1d2e3f4a5b/resourceGroups/images/providers/Microsoft.Compute/diskEncryptionSets/cmk',
        },
        'image.no-disk-encryption-set',
        /diskEncryptionSets\/cmk/,
      ],
      [
        'a paid image',
        {
          resourceGroup: 'images',
          name: 'paid',
          tags: { PlanName: 'x', PlanProduct: 'y', PlanPublisher: 'z' },
        },
        'image.no-purchase-plan',
        /PlanName=x/,
      ],
    ];
    it.each(cases)('%s', async (_name, spec, checkId, detail) => {
      const f = await cloud();
      let imageId: string;
      if (typeof spec === 'string') {
        imageId =
          spec === '/missing'
            ? `/subscriptions/${f.subscriptionId}/resourceGroups/images/providers/Microsoft.Compute/images/nope`
            : spec;
        if (spec === '/missing') f.addManagedImage({ resourceGroup: 'images', name: 'other' });
      } else {
        imageId = f.addManagedImage(spec).id;
      }
      const run = await runAction(f, { 'image-id': imageId, ...fakeInputs(f) });
      expect(run.code).toBe(1);
      expect(run.outputs.status).toBe('invalid');
      const check = run.report?.checks.find((c) => c.id === checkId);
      expect(check?.status).toBe('fail');
      expect(check?.detail).toMatch(detail);
      expect(check?.fix).toBeTruthy();
      expect(run.stdout).toContain(`::error::FAIL ${checkId}`);
      expect(run.stdout).toContain('Nothing was uploaded');
      // Reads only: for a missing image, whether an earlier run registered it before it was deleted; for a readable
      // one, whether Windows 365 can see it (reported with the other failures).
      const lookups = (r: FakeCloud['requests'][number]) =>
        r.method === 'GET' && (r.query.$filter !== undefined || r.path.endsWith('/getSourceImages'));
      expect(graphRequests(f).filter((r) => !lookups(r))).toHaveLength(0);
      if (checkId !== 'image.readable') {
        expect(graphRequests(f).every((r) => r.path.endsWith('/getSourceImages'))).toBe(true);
      }
      expect(f.counters.deviceImageCreates).toBe(0);
    });

    it('reports every failing check of an image with several problems', async () => {
      const f = await cloud();
      const image = f.addManagedImage({
        resourceGroup: 'images',
        name: 'bad',
        hyperVGeneration: 'V1',
        osState: 'Specialized',
        diskSizeGB: 128,
        windows365CanRead: false,
      });
      const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) });
      expect(run.code).toBe(1);
      expect(run.report?.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual([
        'image.generalized',
        'image.generation',
        'image.os-disk-size',
        'image.windows365-can-read',
      ]);
      expect(graphRequests(f).map((r) => `${r.method} ${r.path}`)).toEqual([
        'GET /v1.0/deviceManagement/virtualEndpoint/deviceImages/getSourceImages',
      ]);
    });

    it('a tenant already holding 20 images, listing them', async () => {
      const f = await cloud({ graphPageSize: 7 });
      const image = f.addManagedImage({ resourceGroup: 'images', name: 'win11-cpc' });
      for (let i = 1; i <= 20; i++)
        f.addDeviceImage({ displayName: `Old image ${i}`, version: `1.0.${i}`, status: 'ready' });
      const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) });
      expect(run.code).toBe(1);
      expect(run.outputs.status).toBe('error');
      expect(run.report?.error?.kind).toBe('image-limit');
      expect(run.report?.error?.message).toContain('already holds 20 custom images');
      expect(run.report?.error?.message).toContain("'Old image 20' 1.0.20");
      // "then re-run" says with what.
      expect(run.report?.error?.message).toContain(
        `To resume, re-run the step with: { image-id: "${image.id}"`,
      );
      expect(creates(f)).toHaveLength(0);
    });

    it('a job without id-token: write', async () => {
      const f = await cloud();
      const image = f.addManagedImage({ resourceGroup: 'images', name: 'win11-cpc' });
      const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) }, { withoutOidc: true });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('id-token: write');
      expect(run.outputs.status).toBe('error');
      expect(run.report?.error?.kind).toBe('auth');
      expect(f.requests.filter((r) => r.service !== 'control')).toHaveLength(0);
    });

    it('a bad input, naming it', async () => {
      const f = await cloud();
      const image = f.addManagedImage({ resourceGroup: 'images', name: 'win11-cpc' });
      const run = await runAction(f, { 'image-id': image.id, version: '1.0', ...fakeInputs(f) });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain("::error::Input 'version': '1.0' is not Major.Minor.Patch.");
      expect(f.requests.filter((r) => r.service !== 'control')).toHaveLength(0);
    });
  });
});
