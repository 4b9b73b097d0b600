#!/usr/bin/env node
// The `container-lessons` command. Checks the platform before loading anything that needs it.
const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  process.stderr.write(`container-lessons needs Node.js 20 or newer (this is ${process.version}).\n`);
  process.exit(3);
}
if (process.platform !== 'linux') {
  process.stderr.write(`container-lessons teaches Linux kernel features and runs on Linux only (this is ${process.platform}); use a Linux VM.\n`);
  process.exit(3);
}
// bundle/ is the workbook packed into a few files by `npm run build` (scripts/bundle.mjs):
// Node 20 would otherwise load some 300 module files before the first frame.
let cli;
try {
  cli = await import('../bundle/cli.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('bundle/cli.js')) throw err;
  process.stderr.write('container-lessons: this copy is not built (bundle/cli.js is missing).\nhint: run `npm run build` in ' + new URL('..', import.meta.url).pathname + '\n');
  process.exit(3);
}
await cli.run();
