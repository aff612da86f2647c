/** Virtual time of the fake: `scale` virtual seconds pass per real second, starting from the real time at start. */
export interface VirtualClock {
  /** Virtual milliseconds since the epoch. */
  now(): number;
  /** Virtual time scale (virtual seconds per real second). */
  readonly scale: number;
}

export function createVirtualClock(scale = 1): VirtualClock {
  if (!(scale > 0) || !Number.isFinite(scale))
    throw new Error(`timeScale must be a positive number, got ${scale}`);
  const origin = Date.now();
  return {
    scale,
    now: () => Math.floor(origin + (Date.now() - origin) * scale),
  };
}

/** Real seconds since the epoch (token lifetimes are real time). */
export function realEpochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
