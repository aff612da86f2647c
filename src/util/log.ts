import * as core from '@actions/core';

/** Where the pipeline writes progress. The action writes workflow commands; the CLI writes plain lines. */
export interface Log {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  /** Runs `fn` inside a collapsible log group. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Hides a value from every later log line. */
  mask(secret: string): void;
}

export const actionsLog: Log = {
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  error: (m) => core.error(m),
  debug: (m) => core.debug(m),
  group: (title, fn) => core.group(title, fn),
  mask: (s) => core.setSecret(s),
};

export function consoleLog(options: { verbose?: boolean } = {}): Log {
  const secrets = new Set<string>();
  const scrub = (m: string) => {
    let out = m;
    for (const s of secrets) out = out.split(s).join('***');
    return out;
  };
  return {
    info: (m) => console.log(scrub(m)),
    warning: (m) => console.error(`warning: ${scrub(m)}`),
    error: (m) => console.error(`error: ${scrub(m)}`),
    debug: (m) => {
      if (options.verbose) console.error(`debug: ${scrub(m)}`);
    },
    group: async (title, fn) => {
      console.log(`\n== ${title}`);
      return fn();
    },
    mask: (s) => {
      if (s) secrets.add(s);
    },
  };
}
