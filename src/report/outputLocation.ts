import { constants } from 'node:fs';
import { access, lstat, realpath, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { InputError } from '../config/inputs.ts';
import { quotePrefix } from '../util/untrusted.ts';

// Kernel filesystems: nothing there is a report file, and some entries block a writer for ever.
const SPECIAL_ROOTS = ['/proc', '/sys', '/dev'];

const FIX =
  'Set report-path to a file in a writable folder, such as ${{ runner.temp }}/w365-image-report.json.';

/**
 * Checks, before anything is built, uploaded or changed, that the JSON report can be written where report-path
 * says: not a folder, not a FIFO or device, not under /proc, /sys or /dev, with a writable folder (or a writable
 * ancestor to create it in) and no file in the way of that folder.
 */
export async function checkReportPath(reportPath: string, input = 'report-path'): Promise<void> {
  const path = resolve(reportPath);
  const shown = quotePrefix(reportPath, 200);
  const fail = (problem: string): never => {
    throw new InputError(input, `${shown} ${problem}`, FIX);
  };
  if (isSpecial(path))
    fail('is on a kernel filesystem (/proc, /sys or /dev), not a file the report can go to.');

  const existing = await lstat(path).catch(() => undefined);
  if (existing) {
    const target = existing.isSymbolicLink() ? await stat(path).catch(() => undefined) : existing;
    if (existing.isSymbolicLink() && isSpecial(await realpath(path).catch(() => path)))
      fail('links to a kernel filesystem (/proc, /sys or /dev).');
    if (target?.isDirectory()) fail('is a folder; it must name the report file.');
    if (target && !target.isFile()) fail('exists and is not a regular file (a FIFO, socket or device).');
    if (target) {
      await access(path, constants.W_OK).catch(() => fail('exists and cannot be written.'));
      return;
    }
  }

  // Walk up to the nearest folder that exists: it must be a folder (not a file) and writable.
  let folder = dirname(path);
  for (;;) {
    const info = await stat(folder).catch((error: NodeJS.ErrnoException) =>
      error.code === 'ENOTDIR' ? ('not-a-folder' as const) : undefined,
    );
    if (info === 'not-a-folder')
      fail('cannot be created: a file stands where a folder of its path should be.');
    else if (info) {
      if (!info.isDirectory())
        fail(`cannot be created: ${quotePrefix(folder, 200)} is a file, not a folder.`);
      if (isSpecial(await realpath(folder).catch(() => folder)))
        fail('is inside a link to a kernel filesystem (/proc, /sys or /dev).');
      await access(folder, constants.W_OK | constants.X_OK).catch(() =>
        fail(`cannot be created: the folder ${quotePrefix(folder, 200)} is not writable.`),
      );
      return;
    }
    const parent = dirname(folder);
    if (parent === folder) fail('has no existing folder above it.');
    folder = parent;
  }
}

function isSpecial(path: string): boolean {
  return SPECIAL_ROOTS.some((root) => path === root || path.startsWith(root + sep));
}
