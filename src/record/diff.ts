import { COMPONENT_LABELS, type Inventory } from '../check/inventory.ts';

/** One side of a comparison: a record, a report's record, or a facts file (no base). */
export interface DiffSide {
  label: string;
  base: { sku: string; version: string } | null;
  inventory: Inventory | null;
}

export interface Change {
  name: string;
  from: string | null;
  to: string | null;
}

export interface ItemChanges {
  added: Array<{ name: string; version: string | null }>;
  removed: Array<{ name: string; version: string | null }>;
  updated: Change[];
}

/** What changed from one image to the next. */
export interface ImageDiff {
  from: string;
  to: string;
  base: Change | null;
  build: Change | null;
  components: Change[];
  programs: ItemChanges;
  appx: ItemChanges;
  updates: { added: string[]; removed: string[] };
  /** Why some part could not be compared (no inventory on one side). */
  notes: string[];
  /** Number of changes of every kind. */
  total: number;
}

export function diffImages(old: DiffSide, now: DiffSide): ImageDiff {
  const notes: string[] = [];
  const base =
    old.base && now.base && (old.base.sku !== now.base.sku || old.base.version !== now.base.version)
      ? {
          name: 'Base',
          from: `${old.base.sku} ${old.base.version}`,
          to: `${now.base.sku} ${now.base.version}`,
        }
      : null;
  const a = old.inventory;
  const b = now.inventory;
  if (!a || !b) {
    notes.push(
      `No software inventory in ${!a ? old.label : now.label}: programs, apps and updates not compared.`,
    );
  }
  const build = a && b ? buildChange(a, b) : null;
  const components = a && b ? componentChanges(a, b) : [];
  const programs =
    a && b
      ? itemChanges(
          a.programs.map((p) => ({ key: `${p.name}|${p.view}`, name: programName(p), version: p.version })),
          b.programs.map((p) => ({ key: `${p.name}|${p.view}`, name: programName(p), version: p.version })),
        )
      : empty();
  const appx =
    a && b
      ? itemChanges(
          a.appx.map((p) => ({ key: p.name, name: p.name, version: p.version })),
          b.appx.map((p) => ({ key: p.name, name: p.name, version: p.version })),
        )
      : empty();
  const oldUpdates = new Set(a?.updates.map((u) => u.id) ?? []);
  const newUpdates = new Set(b?.updates.map((u) => u.id) ?? []);
  const updates =
    a && b
      ? {
          added: [...newUpdates].filter((u) => !oldUpdates.has(u)).sort(),
          removed: [...oldUpdates].filter((u) => !newUpdates.has(u)).sort(),
        }
      : { added: [], removed: [] };
  const count = (c: ItemChanges) => c.added.length + c.removed.length + c.updated.length;
  const total =
    (base ? 1 : 0) +
    (build ? 1 : 0) +
    components.length +
    count(programs) +
    count(appx) +
    updates.added.length +
    updates.removed.length;
  return { from: old.label, to: now.label, base, build, components, programs, appx, updates, notes, total };
}

function programName(p: Inventory['programs'][number]): string {
  return p.view === '32-bit' ? `${p.name} (32-bit)` : p.name;
}

function buildChange(a: Inventory, b: Inventory): Change | null {
  const show = (i: Inventory) => (i.currentBuild === null ? null : `${i.currentBuild}.${i.ubr ?? '?'}`);
  const from = show(a);
  const to = show(b);
  return from === to ? null : { name: 'Windows build (UBR)', from, to };
}

function componentChanges(a: Inventory, b: Inventory): Change[] {
  const changes: Change[] = [];
  for (const [key, label] of Object.entries(COMPONENT_LABELS) as Array<
    [keyof typeof COMPONENT_LABELS, string]
  >) {
    const from = a.components[key];
    const to = b.components[key];
    if (from !== to) changes.push({ name: label, from, to });
  }
  const vc = itemChanges(
    a.components.vcRedist.map((v) => ({ key: v.name, name: v.name, version: v.version })),
    b.components.vcRedist.map((v) => ({ key: v.name, name: v.name, version: v.version })),
  );
  for (const item of vc.added) changes.push({ name: item.name, from: null, to: item.version });
  for (const item of vc.removed) changes.push({ name: item.name, from: item.version, to: null });
  changes.push(...vc.updated);
  return changes;
}

function empty(): ItemChanges {
  return { added: [], removed: [], updated: [] };
}

type Keyed = { key: string; name: string; version: string | null };

function itemChanges(before: readonly Keyed[], after: readonly Keyed[]): ItemChanges {
  const index = (items: readonly Keyed[]) => {
    const map = new Map<string, Keyed>();
    for (const item of items) if (!map.has(item.key.toLowerCase())) map.set(item.key.toLowerCase(), item);
    return map;
  };
  const old = index(before);
  const now = index(after);
  const changes = empty();
  for (const [key, item] of now) {
    const was = old.get(key);
    if (!was) changes.added.push({ name: item.name, version: item.version });
    else if (was.version !== item.version)
      changes.updated.push({ name: item.name, from: was.version, to: item.version });
  }
  for (const [key, item] of old)
    if (!now.has(key)) changes.removed.push({ name: item.name, version: item.version });
  const byName = (x: { name: string }, y: { name: string }) => x.name.localeCompare(y.name);
  changes.added.sort(byName);
  changes.removed.sort(byName);
  changes.updated.sort(byName);
  return changes;
}
