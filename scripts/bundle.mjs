// The workbook as a few files: bundle/cli.js (the command), bundle/nsinit.js (a
// container's init stage) and the chunks they share or load later (the TUI, markdown).
//
// Why: Node 20 loads ES modules one file at a time (resolve, read, parse, link), and the
// workbook's dependency tree is about 300 files. Loaded from node_modules, most of the
// time to the TUI's first frame went to the module loader; from these files it takes a
// fraction of that (npm run bench reports the first frame). tsc's dist/ stays the tested library;
// this step only packs dist/ and production builds of the dependencies.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'bundle');
const shim = (/** @type {string} */ f) => path.join(ROOT, 'scripts/bundle-shims', f);

/** @type {import('rolldown').Plugin} */
const trim = {
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

fs.rmSync(OUT, { recursive: true, force: true });
const build = await rolldown({
  input: { cli: path.join(ROOT, 'dist/cli.js'), nsinit: path.join(ROOT, 'dist/core/nsinit.js') },
  platform: 'node',
  // koffi is a native addon: it stays a package, found in node_modules at run time.
  external: ['koffi'],
  plugins: [trim],
  logLevel: 'warn',
  transform: { define: { 'process.env.NODE_ENV': '"production"' } },
});
await build.write({ dir: OUT, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js', minify: !process.env.BUNDLE_DEBUG });
await build.close();
const files = fs.readdirSync(OUT);
const size = files.reduce((n, f) => n + fs.statSync(path.join(OUT, f)).size, 0);
console.log(`bundle/: ${files.length} files, ${(size / 1024).toFixed(0)} KiB`);
