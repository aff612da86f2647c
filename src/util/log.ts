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
  /** Runs `fn` inside a collapsible log group; the group appears only if something is logged inside it. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Hides a value from every later log line and from everything else we write. */
  mask(secret: string): void;
}

export interface LazyGroups {
  /** Call before writing a visible line: opens the innermost pending group. */
  beforeLine(): void;
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Log groups that open only when a line is written inside them, so no group is ever empty, and at most one at a
 * time, as GitHub does not nest groups: a line of a nested group closes the outer one and opens its own, and a later
 * line of the outer group opens it again under the same title.
 */
export function lazyGroups(open: (title: string) => void, close: () => void): LazyGroups {
  const stack: string[] = [];
  let openDepth: number | undefined;
  return {
    beforeLine() {
      if (stack.length === 0 || openDepth === stack.length) return;
      if (openDepth !== undefined) close();
      open(stack[stack.length - 1] ?? '');
      openDepth = stack.length;
    },
    async group(title, fn) {
      stack.push(title);
      try {
        return await fn();
      } finally {
        if (openDepth === stack.length) {
          close();
          openDepth = undefined;
        }
        stack.pop();
      }
    },
  };
}

const actionGroups = lazyGroups(
  (title) => core.startGroup(safeLogText(title)),
  () => core.endGroup(),
);

export const actionsLog: Log = {
  info: (m) => {
    actionGroups.beforeLine();
    core.info(safeLogText(m));
  },
  warning: (m) => {
    actionGroups.beforeLine();
    core.warning(safeLogText(m));
  },
  error: (m) => {
    actionGroups.beforeLine();
    core.error(safeLogText(m));
  },
  // Debug lines are hidden unless step debugging is on: they never open a group on their own.
  debug: (m) => core.debug(safeLogText(m)),
  group: (title, fn) => actionGroups.group(title, fn),
  mask: (s) => {
    registerSecret(s);
    core.setSecret(s);
  },
};

export function consoleLog(options: { verbose?: boolean } = {}): Log {
  const groups = lazyGroups(
    (title) => console.log(`\n== ${safeLogText(title)}`),
    () => undefined,
  );
  return {
    info: (m) => {
      groups.beforeLine();
      console.log(safeLogText(m));
    },
    warning: (m) => {
      groups.beforeLine();
      console.error(`warning: ${safeLogText(m)}`);
    },
    error: (m) => {
      groups.beforeLine();
      console.error(`error: ${safeLogText(m)}`);
    },
    debug: (m) => {
      if (options.verbose) console.error(`debug: ${safeLogText(m)}`);
    },
    group: (title, fn) => groups.group(title, fn),
    mask: (s) => registerSecret(s),
  };
}
