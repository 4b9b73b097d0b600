// Whether this process is the one-file binary (`npm run sea`: the workbook inside a Node
// single executable application) or node running the package's files. The binary has no
// package directory and no nsinit.js beside it: it carries its files as assets and starts
// its helpers by running itself again, as containers-from-scratch does with /proc/self/exe.
//
// Decided when the binary is built (scripts/sea.mjs defines __CONTAINER_LESSONS_SEA__), not
// asked of node:sea: the other builds then never load node:sea, which Node 20.0 to 20.11
// do not have (engines is >=20), and they cannot be talked into the binary's paths.
import { createRequire } from 'node:module';

declare const __CONTAINER_LESSONS_SEA__: boolean | undefined;

export const IN_SEA: boolean = typeof __CONTAINER_LESSONS_SEA__ !== 'undefined' && __CONTAINER_LESSONS_SEA__ === true;

/** The first argument that makes the binary its own helper: `<binary> __nsinit <mode> <json>`
 * does what `node nsinit.js <mode> <json>` does for the package. */
export const HELPER_ARG = '__nsinit';

/** The binary itself, to start it again: the file this process runs, whatever its path
 * names now (a copy put over it while a lesson runs is not the same program). */
export const SELF_EXE = '/proc/self/exe';

/** The binary's assets, by what they hold (scripts/sea.mjs puts them in). */
export const SEA_ASSETS = {
  /** The command's first part (src/sea-cli.ts): CommonJS scripts, as bundle/'s files are. */
  cli: 'cli.cjs',
  /** A helper's first part (src/core/nsinit.ts). */
  helper: 'helper.cjs',
  /** Each part (those two and what they load) is the asset of its file under this prefix. */
  partPrefix: 'parts/',
  /** koffi's native module for the binary's architecture (src/sea-addon.ts). */
  koffi: 'koffi.node',
  /** The list of the package's files: [path in the package, mode] (src/sea-files.ts). */
  files: 'package-files.json',
  /** Each of those files is the asset of its path under this prefix. */
  filePrefix: 'package/',
} as const;

/** One of the binary's assets (scripts/sea.mjs lists them), as bytes. Only in the binary. */
export function seaAsset(name: string): Uint8Array {
  // Required only here: node:sea is absent before Node 20.12, and only the binary needs it.
  const sea = createRequire(import.meta.url)('node:sea') as { getAsset(key: string): ArrayBuffer };
  return new Uint8Array(sea.getAsset(name));
}
