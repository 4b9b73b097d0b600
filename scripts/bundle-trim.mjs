// What the builds of the workbook leave out of its dependencies or put in their place:
// shared by scripts/bundle.mjs (bundle/) and scripts/sea.mjs (the one-file binary).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shim = (/** @type {string} */ f) => path.join(ROOT, 'scripts/bundle-shims', f);

/** @type {import('rolldown').Plugin} */
export const trim = {
  name: 'container-lessons-trim',
  resolveId(id, importer) {
    if (id === 'yoga-layout' && importer !== shim('yoga-layout.js')) return shim('yoga-layout.js');
    if (id === 'cli-highlight') return shim('cli-highlight.js');
    if (id === 'node-emoji') return shim('node-emoji.js');
    // ink's devtools (loaded only with DEV=true) need packages that are not installed.
    if (id === 'react-devtools-core' || id === 'ws') return { id, external: true };
    return null;
  },
};
