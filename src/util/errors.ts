/** The message of anything thrown, for a sentence that explains it. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
