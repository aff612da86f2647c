import { describe, expect, it } from 'vitest';
import { lazyGroups } from '../../src/util/log.ts';

function recorder() {
  const out: string[] = [];
  const groups = lazyGroups(
    (title) => out.push(`::group::${title}`),
    () => out.push('::endgroup::'),
  );
  const line = (text: string) => {
    groups.beforeLine();
    out.push(text);
  };
  return { out, groups, line };
}

describe('log groups', () => {
  it('never writes an empty group', async () => {
    const { out, groups, line } = recorder();
    await groups.group('Check policies and room for the image', async () => undefined);
    line('after');
    expect(out).toEqual(['after']);
  });

  it('opens a group at its first line and closes it at its end', async () => {
    const { out, groups, line } = recorder();
    line('before');
    const value = await groups.group('Validate', async () => {
      line('one');
      line('two');
      return 42;
    });
    expect(value).toBe(42);
    expect(out).toEqual(['before', '::group::Validate', 'one', 'two', '::endgroup::']);
  });

  it('never nests: a nested group replaces the outer one, which reopens for its own later lines', async () => {
    const { out, groups, line } = recorder();
    await groups.group('Build the image with Packer', async () => {
      line('starting');
      await groups.group('packer init', async () => line('installed'));
      await groups.group('packer validate', async () => undefined);
      line('captured');
    });
    expect(out).toEqual([
      '::group::Build the image with Packer',
      'starting',
      '::endgroup::',
      '::group::packer init',
      'installed',
      '::endgroup::',
      '::group::Build the image with Packer',
      'captured',
      '::endgroup::',
    ]);
  });

  it('closes the group when its work throws', async () => {
    const { out, groups, line } = recorder();
    await expect(
      groups.group('Register', async () => {
        line('posting');
        throw new Error('lost');
      }),
    ).rejects.toThrow('lost');
    line('after');
    expect(out).toEqual(['::group::Register', 'posting', '::endgroup::', 'after']);
  });
});
