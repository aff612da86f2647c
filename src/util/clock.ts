/** Time as the pipeline sees it. Every wait goes through here so tests and the benchmark can run a scaled clock. */
export interface Clock {
  /** Milliseconds since the epoch, on this clock. */
  now(): number;
  /** Waits `ms` milliseconds of this clock; ends early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Node fires a timer longer than this at once (it overflows a signed 32-bit integer). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The real clock, optionally running `scale` times faster than wall time. Only tests and the benchmark set a scale
 * (environment variable W365_IMAGE_TIME_SCALE), to run a multi-hour upload against the local fake in seconds.
 */
export function systemClock(scale = 1): Clock {
  if (!(scale > 0) || !Number.isFinite(scale))
    throw new Error(`Clock scale must be a positive number, got ${scale}`);
  const origin = Date.now();
  return {
    now: () => origin + (Date.now() - origin) * scale,
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        // NaN or a negative wait is no wait; a wait past Node's timer range is chained, never fired at once.
        const end = Date.now() + (Number.isFinite(ms) || ms === Infinity ? Math.max(0, ms) : 0) / scale;
        let timer: NodeJS.Timeout | undefined;
        const arm = () => {
          const left = end - Date.now();
          if (left <= 0) return done();
          timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
        };
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
        arm();
      }),
  };
}

export function clockFromEnvironment(env: NodeJS.ProcessEnv = process.env): Clock {
  const raw = env.W365_IMAGE_TIME_SCALE;
  return systemClock(raw ? Number(raw) : 1);
}
