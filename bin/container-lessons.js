#!/usr/bin/env node
// The `container-lessons` command. Checks the platform before loading anything that needs it.
//
// The checks must run on the old Nodes a learner may have: Debian 11 and Ubuntu 22.04 ship
// Node 12, Debian 12 and Ubuntu 24.04 Node 18. Node parses the whole file before it runs a
// line of it, so this file holds no syntax newer than those Nodes read (no top-level await,
// no ?. or ??, no import.meta: a Node before 12.17 even reads it as a CommonJS script), and
// it loads the workbook (modern code) only once the checks have passed.

/** --json among the workbook's own options: not after `--`, not in what `run` runs (the
 * rule of src/cli.ts's asksForJson, written again here in syntax an old Node reads). */
function asksForJson(argv) {
  if (argv[0] === 'run') return false;
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).indexOf('--json') >= 0;
}

/** Stop with exit 3 (the machine is not ready): a message and a hint, as JSON when asked. */
function fail(message, hint) {
  if (asksForJson(process.argv.slice(2))) process.stdout.write(JSON.stringify({ error: message, hint: hint, exit: 3 }) + '\n');
  else process.stderr.write('container-lessons: ' + message + '\nhint: ' + hint + '\n');
  process.exit(3);
}

const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  fail(
    'this needs Node.js 20 or newer; this is ' + process.version + ' (22 and 24 are fine)',
    [
      'Debian 12 and Ubuntu 24.04 give Node 18 with `apt install nodejs`. A current Node:',
      '  NodeSource: curl -fsSL https://deb.nodesource.com/setup_22.x | sudo bash -',
      '              sudo apt-get install -y nodejs',
      '  nvm:        nvm install 22   (https://github.com/nvm-sh/nvm); sudo does not see',
      '              its node: sudo env "PATH=$PATH" npx container-lessons',
      '  no Node:    the one-file binary container-lessons-linux-x64 needs none',
      '              (README.md, "One-file binary")',
    ].join('\n'),
  );
}
if (process.platform !== 'linux') {
  fail('the workbook teaches Linux kernel features and runs on Linux only (this is ' + process.platform + ')', 'use a Linux VM');
}
// The workbook's own files (the lab, a layer store, a container's init layer) are made for
// a container's users to read. A learner's umask of 077 (a hardened machine; sudo keeps it)
// would close the lab to lesson 9's rootless user and a container's /etc to nobody. A daemon
// sets its own umask too (dockerd sets 0 and gives each file its mode); 022 gives the usual
// 0755 and 0644. Children (helpers, containers) inherit it.
process.umask(0o022);
// bundle/ is the workbook packed into a few files by `npm run build` (scripts/bundle.mjs):
// Node 20 would otherwise load some 300 module files before the first frame.
// With CONTAINER_LESSONS_DEBUG a failure prints its stack (src/cli.ts run()): Node maps the
// bundle's positions back to src/*.ts through bundle/*.js.map. Only then: Node reads each
// module's map as it loads it, which a normal start should not pay for.
if (process.env.CONTAINER_LESSONS_DEBUG) process.setSourceMapsEnabled(true);

/**
 * Node's compile cache (Node 22.1 and newer; Node 20 has none and starts as before): the V8
 * code of the bundle's files kept on disk, so that a later start reads it instead of
 * compiling them again. Set up before the bundle is imported, since only what is compiled
 * after this call is cached.
 *
 * Where: <tmp>/container-lessons-compile-cache-<uid>, made here 0700. Not Node's default
 * <tmp>/node-compile-cache, which any user may create first: root would then run code that
 * user wrote there. So a directory is used only when it is one (not a link), this user owns
 * it and nobody else can write to it; otherwise nothing is cached. Per user, because the
 * workbook runs as root (sudo, which leaves TMPDIR out: /tmp) and some commands as the
 * learner. In the temporary directory because it is a cache: the system empties it, and it
 * is never the learner's to clean up. Node keys each entry by its file's content and
 * Node's version, so an updated workbook is compiled again, not run from stale code.
 * NODE_COMPILE_CACHE, when set, is the learner's choice: Node has used it since it started.
 */
function compileCache() {
  if (major < 22 || process.env.NODE_COMPILE_CACHE) return Promise.resolve();
  return Promise.all([import('node:module'), import('node:fs'), import('node:os'), import('node:path')])
    .then((m) => {
      const mod = m[0].default;
      const fs = m[1].default;
      if (typeof mod.enableCompileCache !== 'function') return;
      const uid = process.getuid();
      const dir = m[3].default.join(m[2].default.tmpdir(), 'container-lessons-compile-cache-' + uid);
      try {
        fs.mkdirSync(dir, { mode: 0o700 });
      } catch (err) {
        if (err.code !== 'EEXIST') return;
      }
      const st = fs.lstatSync(dir);
      if (st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0) mod.enableCompileCache(dir);
    })
    .catch(() => {}); // a cache that cannot be used is no cache: the workbook starts as before
}

/**
 * `run` first starts its container's stage A and PID 1 (bundle/run-early.js, a few small
 * modules): PID 1's Node start then overlaps the loading of the command itself. Anything
 * wrong here is left to the command, which starts its container the usual way.
 */
function runEarly() {
  if (process.argv[2] !== 'run') return Promise.resolve();
  return import('../bundle/run-early.js').then(
    (early) => early.startForRun(process.argv.slice(2)),
    () => {},
  );
}

compileCache()
  .then(runEarly)
  .then(() => import('../bundle/cli.js'))
  .then(
    (cli) => cli.run(),
    (err) => {
      if (!(err instanceof Error) || err.code !== 'ERR_MODULE_NOT_FOUND' || String(err.message).indexOf('bundle/cli.js') < 0) throw err;
      // The message names the file it looked for: /path/to/container-lessons/bundle/cli.js.
      const missing = /'([^']*)bundle\/cli\.js'/.exec(String(err.message));
      fail('this copy is not built (bundle/cli.js is missing)', 'run `npm run build` in ' + (missing ? missing[1] : 'the package directory'));
    },
  );
