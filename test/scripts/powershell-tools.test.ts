import { describe, expect, it } from 'vitest';
import { powershellSuitePlan } from '../../scripts/powershell-tools.ts';

describe('npm test and the PowerShell suite', () => {
  const found = {
    found: true as const,
    command: ['pwsh'],
    pesterManifest: '/repo/.tools/pester/6.2.0/tools/Pester.psd1',
  };
  const missing = { found: false as const, reason: 'neither pwsh nor dotnet is on PATH' };

  it('runs the suite wherever PowerShell is there', () => {
    expect(powershellSuitePlan(found, false)).toEqual({ action: 'run' });
    expect(powershellSuitePlan(found, true)).toEqual({ action: 'run' });
  });

  it('outside CI skips only the PowerShell suite, saying why in one line', () => {
    const plan = powershellSuitePlan(missing, false);
    expect(plan).toMatchObject({ action: 'skip' });
    expect('message' in plan && plan.message).toMatch(
      /^PowerShell suite skipped: neither pwsh nor dotnet is on PATH/,
    );
    expect('message' in plan && plan.message.includes('\n')).toBe(false);
  });

  it('under CI=true a missing PowerShell fails the run', () => {
    expect(powershellSuitePlan(missing, true)).toMatchObject({
      action: 'fail',
      message: expect.stringContaining('cannot run under CI=true'),
    });
  });
});
