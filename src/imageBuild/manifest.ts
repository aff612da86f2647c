import { readFile, stat } from 'node:fs/promises';

/** One entry of the Packer manifest post-processor output. */
export interface ManifestBuild {
  name: string;
  builderType: string;
  artifactId: string;
  packerRunUuid: string | null;
  customData: Record<string, string>;
}

export class ManifestError extends Error {
  override name = 'ManifestError';
  readonly code: 'manifest-missing' | 'facts-missing';
  constructor(code: 'manifest-missing' | 'facts-missing', message: string) {
    super(message);
    this.code = code;
  }
}

const MANAGED_IMAGE_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Compute\/images\/[^/]+$/i;

/**
 * The azure-arm build of the last Packer run in the manifest. The post-processor appends to an existing file, so
 * earlier runs may be listed too: `last_run_uuid` says which entries are this run's.
 */
export async function readManifest(path: string): Promise<ManifestBuild> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ManifestError(
      'manifest-missing',
      `Packer finished but wrote no manifest at ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). The template's manifest post-processor writes <output_directory>/<manifest_file_name>; check that packer/build.pkr.hcl still has it.`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(
      'manifest-missing',
      `The Packer manifest ${path} is not valid JSON: ${(error as Error).message}.`,
    );
  }
  const builds = (document as { builds?: unknown }).builds;
  const lastRun = (document as { last_run_uuid?: unknown }).last_run_uuid;
  if (!Array.isArray(builds)) {
    throw new ManifestError('manifest-missing', `The Packer manifest ${path} has no 'builds' list.`);
  }
  const parsed = builds.flatMap((b): ManifestBuild[] => {
    if (typeof b !== 'object' || b === null) return [];
    const entry = b as Record<string, unknown>;
    if (typeof entry.artifact_id !== 'string') return [];
    return [
      {
        name: typeof entry.name === 'string' ? entry.name : '',
        builderType: typeof entry.builder_type === 'string' ? entry.builder_type : '',
        artifactId: entry.artifact_id,
        packerRunUuid: typeof entry.packer_run_uuid === 'string' ? entry.packer_run_uuid : null,
        customData: stringRecord(entry.custom_data),
      },
    ];
  });
  const ofLastRun = parsed.filter(
    (b) => b.builderType === 'azure-arm' && (typeof lastRun !== 'string' || b.packerRunUuid === lastRun),
  );
  const build = ofLastRun.at(-1);
  if (!build) {
    throw new ManifestError(
      'manifest-missing',
      `The Packer manifest ${path} lists no azure-arm build for the last run (${typeof lastRun === 'string' ? lastRun : 'no last_run_uuid'}).`,
    );
  }
  if (!MANAGED_IMAGE_ID.test(build.artifactId)) {
    throw new ManifestError(
      'manifest-missing',
      `The azure-arm artifact in ${path} is '${build.artifactId}', not a managed image resource ID. Windows 365 needs a managed image: keep managed_image_name and managed_image_resource_group_name in the template.`,
    );
  }
  return build;
}

/** Checks that the facts document Packer downloaded from the VM exists. */
export async function findFacts(path: string): Promise<string> {
  try {
    if ((await stat(path)).isFile()) return path;
  } catch {
    // reported below
  }
  throw new ManifestError(
    'facts-missing',
    `Packer finished but the facts document is not at ${path}. The template's facts step downloads it to <output_directory>/<facts_file_name>; check packer/build.pkr.hcl.`,
  );
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    ),
  );
}
