import * as core from '@actions/core';
import { registerSecret, safeLogText } from './untrusted.ts';

/**
 * Where the pipeline writes progress. The action writes workflow commands; the CLI writes plain lines. Messages carry
 * text from outside (cloud answers, Packer output, facts, inputs): both adapters neutralise it (no line becomes a
 * workflow command, no control characters, long lines cut) and scrub known secrets, so callers need not.
 */
export interface Log {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  /** Runs `fn` inside a collapsible log group. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Hides a value from every later log line and from everything else we write. */
  mask(secret: string): void;
}

export const actionsLog: Log = {
  info: (m) => core.info(safeLogText(m)),
  warning: (m) => core.warning(safeLogText(m)),
  error: (m) => core.error(safeLogText(m)),
  debug: (m) => core.debug(safeLogText(m)),
  group: (title, fn) => core.group(safeLogText(title), fn),
  mask: (s) => {
    registerSecret(s);
    core.setSecret(s);
  },
};

export function consoleLog(options: { verbose?: boolean } = {}): Log {
  return {
    info: (m) => console.log(safeLogText(m)),
    warning: (m) => console.error(`warning: ${safeLogText(m)}`),
    error: (m) => console.error(`error: ${safeLogText(m)}`),
    debug: (m) => {
      if (options.verbose) console.error(`debug: ${safeLogText(m)}`);
    },
    group: async (title, fn) => {
      console.log(`\n== ${safeLogText(title)}`);
      return fn();
    },
    mask: (s) => registerSecret(s),
  };
}
