// THIRD-PARTY-NOTICES: the licences of the third-party code that the workbook ships.
//
// The bundle (scripts/bundle.mjs) packs ink, React, marked, node-tar and their dependencies
// into bundle/, so their packages are not installed beside ours and their licence files do
// not come along by themselves. MIT, ISC and BlueOak-1.0.0 (node-tar's family) all ask that
// the licence text travels with the code: this module writes each package that contributed
// a module, its version, its licence and the full text of the licence files it ships.
//
// Used by the bundle (bundle/, with koffi) and by the one-file binary's build (which also
// carries Node itself, an entry given with its text).
import fs from 'node:fs';
import path from 'node:path';

/**
 * @typedef {{ name: string, version: string, license: string, texts: { file: string, text: string }[], inside?: string }} NoticeEntry
 * One package (or an extra entry): its licence as its package.json gives it (SPDX), the
 * text of each licence file it ships (none: `texts` is empty), and the package whose own
 * build put it inside a file of theirs, if that is how it came.
 */

// LICENSE, LICENCE, COPYING in any case, with or without an extension or suffix
// (LICENSE.md, license.txt, LICENSE-MIT, COPYING.LESSER).
const LICENCE_FILE = /^(licen[cs]e|copying)([-._].*)?$/i;
const RULE = '='.repeat(80);
const THIN_RULE = '-'.repeat(80);

/**
 * The root directory of the package a module file belongs to: the folder after the last
 * node_modules/ in its path (two folders for a scoped package, @scope/name), so nested copies
 * (a/node_modules/b) count as their own package. Null for a file that is not in node_modules
 * (the project's own code, rolldown's runtime, a virtual module).
 * @param {string} file an absolute path
 */
export function packageRootOf(file) {
  const parts = file.split(path.sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return null;
  const depth = parts[at + 1]?.startsWith('@') ? 2 : 1;
  if (at + depth >= parts.length - 1) return null; // node_modules/x itself, not a file in it
  return parts.slice(0, at + 1 + depth).join(path.sep);
}

/**
 * @param {unknown} field package.json's `license` (or an old-style `licenses` list)
 * @returns {string}
 */
function spdxOf(field) {
  if (typeof field === 'string') return field.trim();
  if (Array.isArray(field)) return field.map(spdxOf).filter(Boolean).join(' OR ');
  if (field && typeof field === 'object' && 'type' in field) return spdxOf(field.type);
  return '';
}

/** @param {string} text */
function normalized(text) {
  return text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .replace(/\s+$/, '');
}

/**
 * A package's entry, read from its directory.
 * @param {string} dir
 * @returns {NoticeEntry}
 */
export function packageEntry(dir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const files = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && LICENCE_FILE.test(d.name))
    .map((d) => d.name)
    .sort();
  const entry = {
    name: String(manifest.name),
    version: String(manifest.version),
    license: spdxOf(manifest.license ?? manifest.licenses),
    texts: files.map((file) => ({ file, text: normalized(fs.readFileSync(path.join(dir, file), 'utf8')) })),
  };
  if (!entry.texts.length && !entry.license) throw new Error(`notices: ${entry.name}@${entry.version} (${dir}) has neither a licence file nor a "license" in its package.json`);
  return entry;
}

/**
 * The packages whose code a packed file carries inside it: some packages publish a file that
 * their own build already bundled (node-tar's dist/esm/index.min.js holds minipass, minizlib,
 * yallist, chownr and @isaacs/fs-minipass), which the file's own source map tells, as
 * sources in a node_modules/ of the package's build tree. Names only: that tree is not here.
 * @param {string} file
 * @returns {string[]}
 */
function inlinedPackageNames(file) {
  const tail = fs.readFileSync(file, 'utf8').slice(-4096);
  const url = /\/\/[#@] sourceMappingURL=(\S+)\s*$/.exec(tail)?.[1];
  if (!url) return [];
  let json;
  const inline = /^data:application\/json[^,]*;base64,(.*)$/.exec(url);
  if (inline) json = Buffer.from(inline[1] ?? '', 'base64').toString('utf8');
  else {
    const mapFile = path.resolve(path.dirname(file), decodeURIComponent(url));
    if (!fs.existsSync(mapFile)) return []; // a map named but not published: nothing to learn
    json = fs.readFileSync(mapFile, 'utf8');
  }
  /** @type {Set<string>} */
  const names = new Set();
  for (const source of JSON.parse(json).sources ?? []) {
    const parts = String(source).split('/');
    const at = parts.lastIndexOf('node_modules');
    if (at < 0 || at + 1 >= parts.length) continue;
    names.add(parts[at + 1]?.startsWith('@') ? parts.slice(at + 1, at + 3).join('/') : String(parts[at + 1]));
  }
  return [...names];
}

/**
 * Where Node would find package `name` from directory `from`: its node_modules, then each
 * parent's.
 * @param {string} name @param {string} from
 */
function installedPackage(name, from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

/** @param {string} dir */
function keyOf(dir) {
  const { name, version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return `${name}@${version}`;
}

/**
 * The packages that the given module files belong to, one per name@version, with the
 * packages that those files carry inside them (see inlinedPackageNames: their licence text
 * is read from the copy installed with the package that carries them, the one its
 * dependencies resolve to).
 * @param {Iterable<string>} moduleIds absolute paths, or paths relative to `root`
 * @param {string} root
 * @returns {Map<string, { dir: string, inside?: string }>} name@version -> the package's directory (and the package it came inside)
 */
export function packagesOf(moduleIds, root) {
  /** @type {Map<string, string[]>} package directory -> its packed files */
  const filesByDir = new Map();
  for (const id of moduleIds) {
    if (id.startsWith('\0')) continue; // rolldown's virtual modules (its runtime): see writeNotices
    const file = path.resolve(root, id.replace(/[?#].*$/, ''));
    const dir = packageRootOf(file);
    if (dir) filesByDir.set(dir, [...(filesByDir.get(dir) ?? []), file]);
  }
  /** @type {Map<string, { dir: string, inside?: string }>} */
  const byKey = new Map();
  // Two copies of one name@version (in different node_modules) are one entry: the first
  // directory in sorted order, so the choice does not depend on the order modules came in.
  const dirs = [...filesByDir.keys()].sort();
  for (const dir of dirs) if (!byKey.has(keyOf(dir))) byKey.set(keyOf(dir), { dir });
  for (const dir of dirs) {
    for (const name of [...new Set((filesByDir.get(dir) ?? []).sort().flatMap(inlinedPackageNames))].sort()) {
      const inner = installedPackage(name, dir);
      if (!inner)
        throw new Error(`notices: ${keyOf(dir)} carries ${name} inside it (its source map says so), but no copy of ${name} is installed to read its licence from; install it (npm install --save-dev ${name}) or list its licence by hand`);
      if (!byKey.has(keyOf(inner))) byKey.set(keyOf(inner), { dir: inner, inside: keyOf(dir) });
    }
  }
  return byKey;
}

/** @param {string} a @param {string} b */
const byCodePoint = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** @param {NoticeEntry} entry */
function formatEntry(entry) {
  const lines = [RULE, `${entry.name}@${entry.version}`, `License: ${entry.license || '(not given in its package.json; see the text below)'}`];
  if (entry.inside) lines.push(`Inside: ${entry.inside} (its own build packs ${entry.name}; the version is the one installed with it)`);
  lines.push(THIN_RULE);
  if (!entry.texts.length) lines.push(`${entry.name} ships no licence file; its package.json gives its licence as ${entry.license}.`);
  for (const [i, { file, text }] of entry.texts.entries()) {
    if (entry.texts.length > 1) lines.push(`${i ? '\n' : ''}--- ${file} ---`);
    lines.push(text);
  }
  return lines.join('\n');
}

/**
 * Write the notices file: every package that one of `moduleIds` belongs to, the packages
 * named in `extraPackages` (found in `root`/node_modules: those shipped outside the bundle,
 * such as koffi), and `extraEntries` given whole (such as Node in the one-file binary).
 * Sorted by name and version, so the same inputs give the same bytes.
 * @param {{ moduleIds: Iterable<string>, file: string, root: string, intro: string, extraPackages?: string[], extraEntries?: NoticeEntry[] }} options
 * @returns {NoticeEntry[]} the entries written, in order
 */
export function writeNotices({ moduleIds, file, root, intro, extraPackages = [], extraEntries = [] }) {
  const ids = [...moduleIds];
  const dirs = packagesOf(ids, root);
  // rolldown's runtime (the helpers that wrap CommonJS modules, \0rolldown/runtime.js) is
  // rolldown's code put into the output.
  if (ids.includes('\0rolldown/runtime.js')) extraPackages = [...extraPackages, 'rolldown'];
  for (const name of extraPackages) {
    const dir = path.join(root, 'node_modules', name);
    const { version } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    if (!dirs.has(`${name}@${version}`)) dirs.set(`${name}@${version}`, { dir });
  }
  const entries = [...[...dirs.values()].map(({ dir, inside }) => ({ ...packageEntry(dir), ...(inside ? { inside } : {}) })), ...extraEntries.map((e) => ({ ...e, texts: e.texts.map((t) => ({ file: t.file, text: normalized(t.text) })) }))];
  entries.sort((a, b) => byCodePoint(a.name, b.name) || byCodePoint(a.version, b.version));
  const contents = entries.map((e) => `  ${e.name}@${e.version} (${e.license || 'see its text'})`);
  const text = [normalized(intro), '', ...contents, '', ...entries.map(formatEntry), ''].join('\n');
  fs.writeFileSync(file, text);
  return entries;
}
