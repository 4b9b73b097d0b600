// THIRD-PARTY-NOTICES lists every package whose code bundle/ carries, with the text of its
// licence files. The packages are found here independently of the generator
// (scripts/notices.mjs, fed by rolldown's module list): from the `sources` of the bundle's
// own source maps, each mapped to the nearest package.json that names a package.
import { describe, it, expect, beforeAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { BUNDLE, NOTICES, PACKAGE_ROOT, ensureBuilt } from '../support/bundle.js';

type Manifest = { name: string; version: string; license?: string; dependencies?: Record<string, string> };
const manifestOf = (dir: string): Manifest => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));

/** The directory of the package a file belongs to: the nearest package.json with a name. */
function packageDirOf(file: string): string {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name) return dir;
  }
  throw new Error(`no package.json above ${file}`);
}

const licenceFiles = (dir: string) => fs.readdirSync(dir).filter((f) => /^(licen[cs]e|copying)/i.test(f) && fs.statSync(path.join(dir, f)).isFile());
const normalized = (text: string) =>
  text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n')
    .trim();

let notices = '';
/** name@version -> its section of the notices (from its name line to the next rule). */
const sections = new Map<string, string>();
/** Every file the bundle's maps name as a source, absolute. */
const sources = new Set<string>();

beforeAll(() => {
  ensureBuilt();
  notices = fs.readFileSync(NOTICES, 'utf8');
  for (const section of notices.split(`${'='.repeat(80)}\n`).slice(1)) sections.set(section.slice(0, section.indexOf('\n')), section);
  for (const map of fs.readdirSync(BUNDLE).filter((f) => f.endsWith('.js.map'))) {
    for (const source of JSON.parse(fs.readFileSync(path.join(BUNDLE, map), 'utf8')).sources as string[]) sources.add(path.resolve(BUNDLE, source));
  }
}, 300_000);

/** The package's section in the notices, which must hold each of its licence files whole. */
function expectListedWithLicence(dir: string): string {
  const { name, version, license } = manifestOf(dir);
  const section = sections.get(`${name}@${version}`);
  expect(section, `${name}@${version} (${dir}) is not in THIRD-PARTY-NOTICES`).toBeDefined();
  expect(section).toContain(`License: ${license}`);
  const files = licenceFiles(dir);
  for (const file of files) expect(section!.includes(normalized(fs.readFileSync(path.join(dir, file), 'utf8'))), `${name}@${version}: the text of ${file}`).toBe(true);
  if (!files.length) expect(section).toContain(`${name} ships no licence file; its package.json gives its licence as ${license}.`);
  return section!;
}

describe('THIRD-PARTY-NOTICES', () => {
  it('lists every package the bundle carries code from, with its licence text', () => {
    const dirs = new Set([...sources].filter((s) => s.split(path.sep).includes('node_modules')).map(packageDirOf));
    // The bundle carries ink, React and marked at least: an empty list would mean the maps
    // were not read, not that nothing was bundled.
    const names = [...dirs].map((d) => manifestOf(d).name);
    expect(names).toEqual(expect.arrayContaining(['ink', 'react', 'marked', 'marked-terminal', 'tar', 'yoga-layout']));
    for (const dir of dirs) expectListedWithLicence(dir);
  });

  it('has nothing else in the bundle than those packages and the project’s own code', () => {
    const own = [...sources].filter((s) => !s.split(path.sep).includes('node_modules'));
    for (const file of own) expect(file.startsWith(path.join(PACKAGE_ROOT, 'src') + path.sep) || file.startsWith(path.join(PACKAGE_ROOT, 'scripts/bundle-shims') + path.sep), file).toBe(true);
  });

  it('carries node-tar’s family (packed inside tar’s own file), and BlueOak-1.0.0 packages carry its text', () => {
    const tar = path.join(PACKAGE_ROOT, 'node_modules/tar');
    expect(manifestOf(tar).license).toBe('BlueOak-1.0.0');
    const family = [tar, ...Object.keys(manifestOf(tar).dependencies ?? {}).map((name) => path.join(PACKAGE_ROOT, 'node_modules', name))];
    expect(family.map((d) => manifestOf(d).name)).toEqual(expect.arrayContaining(['minipass', 'chownr', 'yallist', 'minizlib', '@isaacs/fs-minipass']));
    for (const dir of family) expectListedWithLicence(dir);
    const blueOak = [...sections.values()].filter((s) => /^License: .*BlueOak-1\.0\.0/m.test(s));
    expect(blueOak.length).toBeGreaterThanOrEqual(4); // tar, minipass, chownr, yallist today
    for (const section of blueOak) expect(section).toMatch(/Blue Oak Model License[\s\S]*Version 1\.0\.0/);
  });

  it('lists koffi, which is installed beside the bundle and carried inside the one-file binary', () => {
    expectListedWithLicence(path.join(PACKAGE_ROOT, 'node_modules/koffi'));
  });

  it('lists its contents in order, each package once', () => {
    const keys = [...sections.keys()];
    expect(new Set(keys).size).toBe(keys.length);
    const byName = (k: string) => k.slice(0, k.lastIndexOf('@'));
    expect(keys.map(byName)).toEqual(keys.map(byName).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });
});
