import * as core from '@actions/core';

/** Where the pipeline writes progress. The action writes workflow commands; the CLI writes plain lines. */
export interface Log {
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  debug(message: string): void;
  /** Runs `fn` inside a collapsible log group; the group appears only if something is logged inside it. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
  /** Hides a value from every later log line. */
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
  (title) => core.startGroup(title),
  () => core.endGroup(),
);

export const actionsLog: Log = {
  info: (m) => {
    actionGroups.beforeLine();
    core.info(m);
  },
  warning: (m) => {
    actionGroups.beforeLine();
    core.warning(m);
  },
  error: (m) => {
    actionGroups.beforeLine();
    core.error(m);
  },
  // Debug lines are hidden unless step debugging is on: they never open a group on their own.
  debug: (m) => core.debug(m),
  group: (title, fn) => actionGroups.group(title, fn),
  mask: (s) => core.setSecret(s),
};

export function consoleLog(options: { verbose?: boolean } = {}): Log {
  const secrets = new Set<string>();
  const scrub = (m: string) => {
    let out = m;
    for (const s of secrets) out = out.split(s).join('***');
    return out;
  };
  const groups = lazyGroups(
    (title) => console.log(`\n== ${title}`),
    () => undefined,
  );
  return {
    info: (m) => {
      groups.beforeLine();
      console.log(scrub(m));
    },
    warning: (m) => {
      groups.beforeLine();
      console.error(`warning: ${scrub(m)}`);
    },
    error: (m) => {
      groups.beforeLine();
      console.error(`error: ${scrub(m)}`);
    },
    debug: (m) => {
      if (options.verbose) console.error(`debug: ${scrub(m)}`);
    },
    group: (title, fn) => groups.group(title, fn),
    mask: (s) => {
      if (s) secrets.add(s);
    },
  };
}
