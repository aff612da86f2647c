import { describe, expect, it } from 'vitest';
import {
  MAX_LINE_CHARS,
  quotePrefix,
  registerSecret,
  safeLine,
  safeLogText,
  scrubDeep,
  scrubSecrets,
} from '../../src/util/untrusted.ts';

/** What the Actions runner would take as a workflow command (its v2 `::name ...::` and v1 `##[name]` forms). */
function looksLikeCommand(line: string): boolean {
  return /^[\s\u0085]*::[A-Za-z-]+.*::/.test(line) || /##\[[A-Za-z-]+/.test(line);
}

const jwt = (payload: object) =>
  [
    Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url'),
    Buffer.from(JSON.stringify(payload)).toString('base64url'),
    'c2lnbmF0dXJlLWJ5dGVzLWhlcmU',
  ].join('.');

describe('safeLogText', () => {
  it.each([
    'Eng\n::error title=X::forged annotation',
    'Eng\r::add-mask::Device',
    'Eng\r\n   ::warning::x::y',
    'Eng\n\t::notice file=a.ts,line=1::x',
    'Eng\n\u00a0\u2003::set-output name=status::ready',
    'Eng\n\ufeff::stop-commands::token',
  ])('no line of %j is a workflow command, and its text stays readable', (text) => {
    const lines = safeLogText(text).split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('Eng');
    expect(looksLikeCommand(lines[1] ?? '')).toBe(false);
    // Only a zero-width space was added.
    expect(lines[1]?.replaceAll('\u200b', '')).toBe(text.split(/\r\n|\r|\n/)[1]);
  });

  it("neutralises the runner's older ##[command] form anywhere in a line", () => {
    const out = safeLogText('Eng ##[error]forged v1 command');
    expect(looksLikeCommand(out)).toBe(false);
    expect(out.replaceAll('\u200b', '')).toBe('Eng ##[error]forged v1 command');
  });

  it('keeps ordinary text, tabs and colour codes as they are', () => {
    const text = 'Policy \u001b[1mEngineering\u001b[0m\tuses image: 12:30 a::b';
    expect(safeLogText(text)).toBe(text);
  });

  it('replaces other control characters (a lone CR, ESC sequences, NEL) so a line cannot be rewritten', () => {
    expect(safeLogText('a\u001b]0;title\u0007b')).toBe('a\uFFFD]0;title\uFFFDb');
    expect(safeLogText('a\u0085::error::x')).not.toMatch(/\u0085/);
  });

  it('cuts a long line and says how much is missing; caps the number of lines', () => {
    const line = safeLine('x'.repeat(120_000));
    expect(line.length).toBeLessThan(MAX_LINE_CHARS + 60);
    expect(line).toContain(`(${120_000 - MAX_LINE_CHARS} more characters not shown)`);
    const many = safeLogText(Array.from({ length: 5_000 }, (_, i) => `line ${i}`).join('\n')).split('\n');
    expect(many.length).toBeLessThanOrEqual(1_001);
    expect(many.at(-1)).toMatch(/more lines not shown/);
  });
});

describe('scrubSecrets', () => {
  it('replaces anything shaped like a JWT (ID tokens, client assertions, access tokens)', () => {
    const token = jwt({ sub: 'repo:contoso/x:environment:production', aud: 'api://AzureADTokenExchange' });
    const text = `AADSTS50027: bad body client_assertion=${token}&client_id=abc`;
    expect(scrubSecrets(text)).toBe('AADSTS50027: bad body client_assertion=***&client_id=abc');
  });

  it('replaces GitHub tokens and every registered secret, wherever they appear', () => {
    registerSecret('opaque-access-token-value-0123');
    const text = 'token ghs_0123456789abcdefghijABCDEFGHIJ012345 and opaque-access-token-value-0123 end';
    expect(scrubSecrets(text)).toBe('token *** and *** end');
  });

  it('scrubs every string of a report-like object without changing its shape', () => {
    const token = jwt({ sub: 'x' });
    const report = { message: `failed: ${token}`, checks: [{ detail: token, n: 3 }], error: null, ok: true };
    expect(scrubDeep(report)).toEqual({
      message: 'failed: ***',
      checks: [{ detail: '***', n: 3 }],
      error: null,
      ok: true,
    });
  });
});

describe('quotePrefix', () => {
  it('quotes a short value whole and a long one by its first 40 characters and its length', () => {
    expect(quotePrefix('Win11 Corp')).toBe("'Win11 Corp'");
    expect(quotePrefix('y'.repeat(120_000))).toBe(`'${'y'.repeat(40)}…' (120000 characters)`);
    expect(quotePrefix('a\nb')).toBe("'a b'");
  });
});
