/**
 * The software inventory packer/scripts/facts.ps1 records in the facts document's `inventory` section
 * (packer/facts.schema.json). Informational only: no sysprep-check rule reads it. Text in it comes from the VM
 * (program names, publishers): treat it as untrusted wherever it is shown.
 */

export interface Program {
  name: string;
  version: string | null;
  publisher: string | null;
  /** Which uninstall registry view listed it: 64-bit (HKLM\SOFTWARE) or 32-bit (WOW6432Node). */
  view: '64-bit' | '32-bit';
}

export interface ProvisionedApp {
  name: string;
  version: string;
}

export interface InstalledUpdate {
  id: string;
  description: string | null;
  installedOn: string | null;
}

export interface Components {
  edge: string | null;
  webView2: string | null;
  teams: string | null;
  m365Apps: string | null;
  m365AppsChannel: string | null;
  oneDrive: string | null;
  defenderPlatform: string | null;
  defenderEngine: string | null;
  webRtcRedirector: string | null;
  vcRedist: Array<{ name: string; version: string }>;
}

export interface Inventory {
  currentBuild: number | null;
  ubr: number | null;
  programs: Program[];
  appx: ProvisionedApp[];
  updates: InstalledUpdate[];
  components: Components;
}

/** Labels of the component versions an admin asks about, in the order they are shown. */
export const COMPONENT_LABELS: Record<Exclude<keyof Components, 'vcRedist'>, string> = {
  edge: 'Microsoft Edge',
  webView2: 'WebView2 Runtime',
  teams: 'Teams',
  m365Apps: 'Microsoft 365 Apps',
  m365AppsChannel: 'Microsoft 365 Apps channel',
  oneDrive: 'OneDrive',
  defenderPlatform: 'Defender platform',
  defenderEngine: 'Defender engine',
  webRtcRedirector: 'WebRTC Redirector',
};

/** Longest text kept from the VM per field: a hostile or broken VM cannot blow up the report. */
const MAX_TEXT = 200;
/** Most items kept per list. */
const MAX_ITEMS = 5000;

export type InventoryRead = { ok: true; inventory: Inventory } | { ok: false; reason: string };

/** Reads the `inventory` section of a parsed facts document (any other section is ignored). */
export function readInventory(document: unknown): InventoryRead {
  if (!isObject(document)) return { ok: false, reason: 'the facts document is not a JSON object' };
  const raw = document.inventory;
  if (raw === undefined || raw === null)
    return {
      ok: false,
      reason: "the facts have no 'inventory' section (a template older than this action?)",
    };
  if (!isObject(raw)) return { ok: false, reason: "the 'inventory' section is not an object" };
  if (typeof raw.error === 'string' && raw.error !== '')
    return { ok: false, reason: `the collector reported: ${text(raw.error)}` };
  const components = isObject(raw.components) ? raw.components : {};
  return {
    ok: true,
    inventory: {
      currentBuild: integer(raw.currentBuild),
      ubr: integer(raw.ubr),
      programs: list(raw.programs, (p) => {
        const name = text(p.name);
        if (!name) return undefined;
        return {
          name,
          version: text(p.version),
          publisher: text(p.publisher),
          view: p.view === '32-bit' ? '32-bit' : '64-bit',
        };
      }),
      appx: list(raw.appx, (a) => {
        const name = text(a.name);
        const version = text(a.version);
        return name && version ? { name, version } : undefined;
      }),
      updates: list(raw.updates, (u) => {
        const id = text(u.id);
        return id ? { id, description: text(u.description), installedOn: text(u.installedOn) } : undefined;
      }),
      components: {
        edge: text(components.edge),
        webView2: text(components.webView2),
        teams: text(components.teams),
        m365Apps: text(components.m365Apps),
        m365AppsChannel: text(components.m365AppsChannel),
        oneDrive: text(components.oneDrive),
        defenderPlatform: text(components.defenderPlatform),
        defenderEngine: text(components.defenderEngine),
        webRtcRedirector: text(components.webRtcRedirector),
        vcRedist: list(components.vcRedist, (v) => {
          const name = text(v.name);
          const version = text(v.version);
          return name && version ? { name, version } : undefined;
        }),
      },
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A trimmed single-line string without control characters, or null. */
function text(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const clean = String(value)
    .replace(/\p{Cc}+/gu, ' ')
    .trim();
  return clean === '' ? null : clean.slice(0, MAX_TEXT);
}

function integer(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
}

function list<T>(value: unknown, read: (item: Record<string, unknown>) => T | undefined): T[] {
  if (!Array.isArray(value)) return [];
  const items: T[] = [];
  for (const item of value.slice(0, MAX_ITEMS)) {
    if (!isObject(item)) continue;
    const read_ = read(item);
    if (read_ !== undefined) items.push(read_);
  }
  return items;
}
