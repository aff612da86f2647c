import { describe, expect, it } from 'vitest';
import { countOf } from '../../src/util/plural.ts';

describe('countOf', () => {
  it.each([
    [0, 'policy', 'policies', '0 policies'],
    [1, 'policy', 'policies', '1 policy'],
    [2, 'policy', 'policies', '2 policies'],
    [1, 'check', undefined, '1 check'],
    [5, 'check', undefined, '5 checks'],
  ])('%i %s', (n, singular, plural, text) => {
    expect(countOf(n, singular, plural)).toBe(text);
  });
});
