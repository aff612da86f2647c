import { describe, expect, it } from 'vitest';
import { annotationsFor, emitAnnotations, type Annotation } from '../../src/report/prComment.ts';
import { sampleReport } from './sampleReport.ts';

const WORKSPACE = '/home/runner/ws/images/images';

function withTail(error: string, outputTail: string[]) {
  return sampleReport({
    outcome: 'error',
    build: {
      mode: 'validate',
      imageId: null,
      factsPath: null,
      packerVersion: '1.14.2',
      error,
      outputTail,
    },
  });
}

describe('annotationsFor', () => {
  it('turns HCL diagnostics into file and line annotations relative to the repository', () => {
    const report = withTail('validate-failed', [
      '==> packer validate packer',
      'Error: Unsupported argument',
      '',
      `  on ${WORKSPACE}/packer/source.pkr.hcl line 23:`,
      '  (source code not available)',
      '',
      'An argument named "vm_sizee" is not expected here. Did you mean "vm_size"?',
      '',
      'Error: Invalid value for variable',
      '',
      '  on packer/variables.pkr.hcl line 12, in variable "image_sku":',
      '  12:   default = "win11-24h2-avd"',
      '',
      'Multi-session (avd) bases are not supported.',
      'This was checked by the validation rule at packer/variables.pkr.hcl:15,3-13.',
    ]);
    expect(annotationsFor(report, { workspace: WORKSPACE })).toEqual<Annotation[]>([
      {
        title: 'Packer: Unsupported argument',
        message: 'An argument named "vm_sizee" is not expected here. Did you mean "vm_size"?',
        file: 'packer/source.pkr.hcl',
        startLine: 23,
      },
      {
        title: 'Packer: Invalid value for variable',
        message:
          'Multi-session (avd) bases are not supported.\nThis was checked by the validation rule at packer/variables.pkr.hcl:15,3-13.',
        file: 'packer/variables.pkr.hcl',
        startLine: 12,
      },
    ]);
  });

  it('reads machine-readable lines and leaves out files outside the repository', () => {
    const report = withTail('validate-failed', [
      '1764150000,,ui,error,Error: Missing required argument%!(PACKER_COMMA) again\\n\\n  on /home/runner/ws/_actions/w365-image/w365-image/v1/packer/source.pkr.hcl line 4:\\n  (source code not available)\\n\\nThe argument "subscription_id" is required.',
    ]);
    expect(annotationsFor(report, { workspace: WORKSPACE })).toEqual([
      {
        title: 'Packer: Missing required argument, again',
        message: 'The argument "subscription_id" is required.',
      },
    ]);
  });

  it('annotates the files packer fmt -check lists', () => {
    const report = withTail('fmt-failed', [
      `${WORKSPACE}/packer/build.pkr.hcl`,
      `--- old/${WORKSPACE}/packer/build.pkr.hcl`,
      '+++ new',
    ]);
    expect(annotationsFor(report, { workspace: WORKSPACE })).toEqual([
      expect.objectContaining({
        file: 'packer/build.pkr.hcl',
        startLine: 1,
        title: 'Packer: file not formatted',
      }),
    ]);
  });

  it('finds nothing without a build or without diagnostics', () => {
    expect(annotationsFor(sampleReport(), { workspace: WORKSPACE })).toEqual([]);
    expect(annotationsFor(withTail('build-failed', ['==> azure-arm: Deleting the resource group']))).toEqual(
      [],
    );
  });
});

describe('emitAnnotations', () => {
  it('sends each one to core.error with file and startLine', () => {
    const calls: unknown[][] = [];
    const count = emitAnnotations(
      [
        {
          title: 'Packer: Unsupported argument',
          message: 'bad',
          file: 'packer/source.pkr.hcl',
          startLine: 23,
        },
        { title: 'Packer: x', message: 'no file' },
      ],
      (...args) => calls.push(args),
    );
    expect(count).toBe(2);
    expect(calls).toEqual([
      ['bad', { title: 'Packer: Unsupported argument', file: 'packer/source.pkr.hcl', startLine: 23 }],
      ['no file', { title: 'Packer: x' }],
    ]);
  });

  it('writes ::error workflow commands by default', () => {
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      emitAnnotations([{ title: 'T', message: 'm', file: 'packer/a.pkr.hcl', startLine: 3 }]);
    } finally {
      process.stdout.write = original;
    }
    expect(written.join('')).toContain('::error title=T,file=packer/a.pkr.hcl,line=3::m');
  });
});
