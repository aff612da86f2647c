import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { readInventory } from '../check/inventory.ts';
import { diffImages, type DiffSide } from '../record/diff.ts';
import { renderDiff } from '../report/diffSection.ts';
import { parseRecord } from '../record/record.ts';

export const DIFF_USAGE = [
  'Usage: w365-image diff OLD NEW [--json]',
  '',
  'Shows what changed from one image to the next: programs and provisioned apps added, removed and',
  'updated, installed updates, the Windows build (UBR), component versions and the base version.',
  'OLD and NEW are JSON reports (w365-image-report.json), records (record.json of the record',
  'artifact) or facts files (w365-facts.json; these carry no base version).',
  '',
  '  --json   Print the differences as JSON instead of markdown.',
  '  --help   Show this help.',
  '',
  'Exit codes: 0 compared (whatever changed), 2 bad usage or a file that is none of the above.',
].join('\n');

class InputFileError extends Error {}

/** `w365-image diff OLD NEW` (argv without the subcommand). Returns the exit code. */
export async function runDiffCommand(
  argv: readonly string[],
  io: { stdout: (text: string) => void; stderr: (text: string) => void } = {
    stdout: (text) => console.log(text),
    stderr: (text) => console.error(text),
  },
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}\n\n${DIFF_USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    io.stdout(DIFF_USAGE);
    return 0;
  }
  const [oldPath, newPath, ...extra] = parsed.positionals;
  if (!oldPath || !newPath || extra.length > 0) {
    io.stderr(`error: give exactly two files, OLD and NEW.\n\n${DIFF_USAGE}`);
    return 2;
  }
  try {
    const diff = diffImages(await readSide(oldPath), await readSide(newPath));
    io.stdout(parsed.values.json ? JSON.stringify(diff, null, 2) : renderDiff(diff).join('\n'));
    return 0;
  } catch (error) {
    if (!(error instanceof InputFileError)) throw error;
    io.stderr(`error: ${error.message}`);
    return 2;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

/** A report (its record), a record, or a facts file (its inventory). */
async function readSide(path: string): Promise<DiffSide> {
  let document: unknown;
  try {
    document = JSON.parse((await readFile(path, 'utf8')).replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new InputFileError(`cannot read ${path} as JSON: ${(error as Error).message}`);
  }
  const object =
    typeof document === 'object' && document !== null ? (document as Record<string, unknown>) : {};
  const record = parseRecord(object.kind === 'w365-image-record' ? object : object.record);
  if (record) {
    return {
      label: `${record.displayName} ${record.version}`,
      base: record.base ? { sku: record.base.sku, version: record.base.version } : null,
      inventory: record.inventory,
    };
  }
  if ('tool' in object && 'outcome' in object)
    throw new InputFileError(
      `${path} is a report without an image record (only successful builds keep one); pass the facts file instead.`,
    );
  if ('schemaVersion' in object && ('os' in object || 'inventory' in object)) {
    const inventory = readInventory(object);
    if (!inventory.ok)
      throw new InputFileError(`${path} has no usable software inventory: ${inventory.reason}.`);
    return { label: path, base: null, inventory: inventory.inventory };
  }
  throw new InputFileError(`${path} is not a w365-image report, record or facts file.`);
}
