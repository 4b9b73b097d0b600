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
const { run } = await import('../dist/cli.js');
await run();
