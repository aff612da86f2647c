/** `1 policy`, `2 policies`: a count with its noun, never `polic(ies)`. */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
