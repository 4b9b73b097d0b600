// How a helper process is started: which program, which arguments before its mode, which
// environment. Shared by container.ts (a helper per start) and helper-pool.ts (helpers
// started ahead).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HELPER_ARG, IN_SEA, SELF_EXE } from '../sea.js';

/** nsinit.js beside this file; when running from the TypeScript sources, the built one. */
export function nsinitPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'nsinit.js'), path.resolve(here, '../../dist/core/nsinit.js')];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`nsinit.js not found (looked at ${candidates.join(', ')}): run \`npm run build\``);
}

/** What follows node in a helper's command line, before its mode: nsinit.js; in the one-file
 * binary, which is node and nsinit at once, the argument that makes it its own helper. */
export function nsinitArgs(): string[] {
  if (IN_SEA) return [HELPER_ARG];
  // Debugging, a helper's stack names src/ lines too (bundle/nsinit.js.map), as the CLI's does.
  return [...(process.env.CONTAINER_LESSONS_DEBUG ? ['--enable-source-maps'] : []), nsinitPath()];
}

/** The program a helper runs: node, or the one-file binary itself again, by /proc/self/exe
 * (the way containers-from-scratch starts its child). Not through setpriv and unshare:
 * /proc/self/exe is the program that reads it, so a rootless start names process.execPath. */
export function helperProgram(): string {
  return IN_SEA ? SELF_EXE : process.execPath;
}

/**
 * The environment of a helper (nsinit): the driver's, less what only slows a Node start.
 * NODE_EXTRA_CA_CERTS makes every Node process read and parse a certificate bundle as it
 * starts, on the path of every container start; a helper never opens a TLS connection.
 * A container's command does not get this environment: nsinit gives it its own.
 */
export function helperEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}
