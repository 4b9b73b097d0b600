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
import { trim } from './bundle-trim.mjs';
import { writeNotices } from './notices.mjs';
import { keepPositions } from './sourcemap-trim.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'bundle');
// tsc writes dist/*.js.map (tsconfig.json: sourceMap); rolldown does not read an input's
// map by itself, so each dist module is loaded with its map and the bundle's maps lead
// through dist/ to src/*.ts: a stack under CONTAINER_LESSONS_DEBUG names a line of src/cli.ts,
// not a column of the one minified line of bundle/cli.js.
const DIST = path.join(ROOT, 'dist') + path.sep;
/** @type {import('rolldown').Plugin} */
const distMaps = {
  name: 'container-lessons-dist-maps',
  load(id) {
    if (!id.startsWith(DIST) || !id.endsWith('.js') || !fs.existsSync(id + '.map')) return null;
    const code = fs.readFileSync(id, 'utf8').replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n');
    return { code, map: fs.readFileSync(id + '.map', 'utf8') };
  },
};

const NSINIT = path.join(ROOT, 'dist/core/nsinit.js');
/** `run`'s early start (src/run-early.ts), which bin/ loads before the command: it loads as
 * little as it can, so its modules go in no shared chunk with anything larger. */
const RUN_EARLY = path.join(ROOT, 'dist/run-early.js');
const EARLY_MODULES = new Set(['dist/core/tag.js', 'dist/core/host-tools.js', 'dist/core/helper-command.js', 'dist/sea.js'].map((f) => path.join(ROOT, f)));
/** The modules a container's init stage (bundle/nsinit.js) loads at its start, and the
 * others it may load later (its dynamic imports: the net helper's netlink, icmp, nftables):
 * found once the graph is read (buildEnd), used when the chunks are made (build.write). */
const nsinitModules = new Set();
const nsinitLater = new Set();
/** @type {import('rolldown').Plugin} */
const nsinitGraph = {
  name: 'container-lessons-nsinit-graph',
  buildEnd() {
    /** `id` and what it imports statically, at any depth, unless `stop` has it. */
    const walk = (/** @type {string} */ id, /** @type {Set<string>} */ into, /** @type {Set<string>} */ stop) => {
      if (into.has(id) || stop.has(id)) return;
      into.add(id);
      for (const dep of this.getModuleInfo(id)?.importedIds ?? []) walk(dep, into, stop);
    };
    walk(NSINIT, nsinitModules, new Set());
    for (const id of this.getModuleInfo(NSINIT)?.dynamicallyImportedIds ?? []) walk(id, nsinitLater, nsinitModules);
  },
};

fs.rmSync(OUT, { recursive: true, force: true });
const build = await rolldown({
  input: { cli: path.join(ROOT, 'dist/cli.js'), nsinit: NSINIT, 'run-early': RUN_EARLY },
  platform: 'node',
  // koffi is a native addon: it stays a package, found in node_modules at run time.
  external: ['koffi'],
  plugins: [trim, distMaps, nsinitGraph],
  logLevel: 'warn',
  // The CLI imports some modules both ways; they stay in the chunk that loads first. Said
  // once per module, it is not news (scripts/sea.mjs leaves it out too).
  onLog: (level, log, handler) => {
    if (log.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') handler(level, log);
  },
  transform: { define: { 'process.env.NODE_ENV': '"production"' } },
});
// Source maps beside each file (bundle/*.js.map), for stacks only: Node reads them when
// bin/ enables them (CONTAINER_LESSONS_DEBUG). They leave out the sources' text, which a
// position does not need (src/ is in the repository, not in the package), and keep the
// project's own positions only (scripts/sourcemap-trim.mjs: the rest was half their weight).
const { output } = await build.write({
  dir: OUT,
  format: 'esm',
  entryFileNames: '[name].js',
  chunkFileNames: '[name]-[hash].js',
  minify: !process.env.BUNDLE_DEBUG,
  // What a start loads in as few files as it can: Node loads ES modules one file at a time,
  // and left to itself rolldown cut the command's graph into some 25 files, which made every
  // start measurably slower (npm run bench, TUI first frame). So: a container's init stage
  // (nsinit.js) loads init-*.js, exactly the modules it imports, and the net helper's
  // modules (netlink, icmp, nftables) from init-net-*.js when it needs them; every command
  // (cli.js) loads those and start-*.js, the rest of what cli.js imports statically (tag
  // $initial). What a command loads later (the TUI, ink, the markdown renderer, the Chinese
  // messages) stays in chunks of its own.
  codeSplitting: {
    groups: [
      { name: 'early', test: (id) => EARLY_MODULES.has(id), priority: 4 },
      { name: 'init', test: (id) => id !== NSINIT && nsinitModules.has(id), priority: 3 },
      { name: 'init-net', test: (id) => nsinitLater.has(id), priority: 2 },
      { name: 'start', tags: ['$initial'], test: (id) => id !== NSINIT && id !== RUN_EARLY, priority: 1 },
    ],
  },
  sourcemap: true,
  sourcemapExcludeSources: true,
});
await build.close();
for (const map of fs.readdirSync(OUT).filter((f) => f.endsWith('.map'))) {
  const file = path.join(OUT, map);
  const own = keepPositions(JSON.parse(fs.readFileSync(file, 'utf8')), (source) => !source.split('/').includes('node_modules'));
  fs.writeFileSync(file, JSON.stringify(own));
}
const files = fs.readdirSync(OUT);
const size = files.reduce((n, f) => n + fs.statSync(path.join(OUT, f)).size, 0);
console.log(`bundle/: ${files.length} files, ${(size / 1024).toFixed(0)} KiB`);

// The licences of what rolldown packed: every module of every chunk.
const notices = writeNotices({
  moduleIds: output.flatMap((o) => (o.type === 'chunk' ? o.moduleIds : [])),
  root: ROOT,
  file: path.join(ROOT, 'THIRD-PARTY-NOTICES'),
  // koffi is not in bundle/: npm installs it beside the workbook, licence file and all, but
  // the one-file binary carries it inside, and a reader of this file should find every part.
  extraPackages: ['koffi'],
  intro: `Third-party software in container-lessons

container-lessons itself is under the MIT licence (LICENSE). Its bundle/ holds code from
the packages below, packed into a few files by its build; koffi, a native addon, is
installed beside it (and carried inside the one-file binary). Each package is listed with
its version, its licence (SPDX, as its package.json gives it) and the full text of the
licence files it ships. This file is generated by \`npm run build\` (scripts/notices.mjs).`,
});
console.log(`THIRD-PARTY-NOTICES: ${notices.length} packages`);
