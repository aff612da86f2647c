import { describe, expect, it } from 'vitest';
import { explainAuthError, tokenSubject } from '../../src/azure/credential.ts';
import { GraphError, retryAfterMs, retryDelayMs } from '../../src/graph/client.ts';
import { odataString } from '../../src/graph/deviceImages.ts';
import { explainErrorCode } from '../../src/graph/errorCodes.ts';
import { pollDelayMs } from '../../src/register/register.ts';
import { systemClock } from '../../src/util/clock.ts';

describe('OData literals', () => {
  it('doubles single quotes', () => {
    expect(odataString("O'Brien's")).toBe("'O''Brien''s'");
    expect(odataString('plain')).toBe("'plain'");
  });
});

describe('Retry-After', () => {
  const clock = { now: () => Date.parse('2026-11-26T12:00:00Z'), sleep: async () => {} };
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('30', clock)).toBe(30_000);
    expect(retryAfterMs('Thu, 26 Nov 2026 12:00:10 GMT', clock)).toBe(10_000);
    expect(retryAfterMs(undefined, clock)).toBeUndefined();
    expect(retryAfterMs('soon', clock)).toBeUndefined();
  });

  it('prefers the server value over back-off', () => {
    const error = Object.assign(Object.create(GraphError.prototype) as GraphError, { retryAfterMs: 42_000 });
    expect(retryDelayMs(error, 5)).toBe(42_000);
    for (let attempt = 1; attempt <= 10; attempt++) {
      const wait = retryDelayMs(new Error('x'), attempt);
      expect(wait).toBeGreaterThanOrEqual(1_000);
      expect(wait).toBeLessThanOrEqual(60_000);
    }
  });
});

describe('poll schedule', () => {
  it('never waits more than a minute, and slows down on long uploads', () => {
    expect(pollDelayMs(0)).toBe(20_000);
    expect(pollDelayMs(5 * 60_000)).toBe(40_000);
    expect(pollDelayMs(3 * 3600_000)).toBe(55_000);
    // A 90-minute upload: count the polls the schedule makes.
    let elapsed = 0;
    let polls = 0;
    while (elapsed < 90 * 60_000) {
      elapsed += pollDelayMs(elapsed);
      polls += 1;
    }
    expect(polls).toBeLessThan(110);
  });
});

describe('scaled clock', () => {
  it('runs faster than wall time when scaled', async () => {
    const clock = systemClock(1000);
    const before = clock.now();
    await clock.sleep(5_000);
    expect(clock.now() - before).toBeGreaterThanOrEqual(4_000);
  });

  it('refuses a nonsense scale', () => {
    expect(() => systemClock(0)).toThrow();
    expect(() => systemClock(Number.NaN)).toThrow();
  });
});

describe('error explanations', () => {
  it('explains Entra codes', () => {
    expect(explainAuthError(new Error('AADSTS70021: No matching federated identity record found'))).toContain(
      'repo:ORG/REPO:environment:ENV',
    );
    expect(explainAuthError(new Error('AADSTS500011: resource principal'))).toContain('azure-environment');
    expect(explainAuthError(new Error('something else'))).toBeUndefined();
  });

  it('reads the subject of a JWT without printing it', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'repo:contoso/x:ref:refs/heads/main' })).toString(
      'base64url',
    );
    expect(tokenSubject(`e30.${payload}.sig`)).toBe('repo:contoso/x:ref:refs/heads/main');
    expect(tokenSubject('garbage')).toBe('unknown');
  });

  it('has a cause and fix for unknown Graph error codes', () => {
    expect(explainErrorCode('brandNewCode').cause).toContain('brandNewCode');
    expect(explainErrorCode('internalServerError').transient).toBe(true);
    expect(explainErrorCode('sourceImageNotGeneralized').transient).toBe(false);
  });
});
