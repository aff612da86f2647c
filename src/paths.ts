import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding action.yml: one level above both src/ (sources) and dist/ (the bundle). */
export const ACTION_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLED_TEMPLATE = resolve(ACTION_ROOT, 'packer');
export const BUNDLE = resolve(ACTION_ROOT, 'dist', 'index.js');
