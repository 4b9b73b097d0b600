// `npx container-lessons` from the package as published: npm pack's tarball installed
// without dev dependencies (no TypeScript, no compiler, no ink: bundle/ holds it) must run
// the lessons.
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LESSONS } from '../../src/lessons/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-pack-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('the packed package', () => {
  it('installs from its tarball without dev dependencies and solves a lesson', () => {
    const out = execFileSync('npm', ['pack', '--pack-destination', tmp, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop()!;
    const tarball = path.join(tmp, out);
    expect(fs.existsSync(tarball)).toBe(true);
    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), '{"name":"app","private":true}');
    execFileSync('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: app, stdio: 'pipe' });
    const installed = path.join(app, 'node_modules');
    expect(fs.existsSync(path.join(installed, 'typescript'))).toBe(false);
    expect(fs.existsSync(path.join(installed, 'container-lessons', 'bundle', 'nsinit.js'))).toBe(true);
    // Everything but the native addon is inside bundle/: npx fetches koffi and nothing else.
    for (const bundled of ['ink', 'react', 'marked', 'marked-terminal', 'tar']) expect(fs.existsSync(path.join(installed, bundled)), bundled).toBe(false);
    expect(fs.existsSync(path.join(installed, 'koffi'))).toBe(true);
    const env = { ...process.env, CONTAINER_LESSONS_HOME: path.join(tmp, 'lab'), NO_COLOR: '1' };
    const bin = path.join(installed, '.bin', 'container-lessons');
    const list = spawnSync(bin, ['list', '--json'], { env, encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).lessons).toHaveLength(LESSONS.length);
    const show = spawnSync(bin, ['show', '5'], { env, encoding: 'utf8' });
    expect(show.stdout).toMatch(/^# 5\. /m);
    const solve = spawnSync(bin, ['solve', '4', '--json'], { env, encoding: 'utf8' });
    expect(solve.status, solve.stderr).toBe(0);
    expect(JSON.parse(solve.stdout).passed).toBe(true);
  }, 180_000);
});
