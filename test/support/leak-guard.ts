// Loaded before every test file: the file must leave the kernel as it found it (mounts,
// cgroups, links, network namespaces, processes in other PID namespaces). Files run one
// at a time, so a difference belongs to the file that just ran.
import { beforeAll, afterAll, expect } from 'vitest';
import { snapshot, leaks, type KernelState } from './kernel-state.mjs';

let before: KernelState;

beforeAll(() => {
  before = snapshot();
});

afterAll(async () => {
  // Killed processes may take a moment to be reaped by init.
  let found = leaks(before, snapshot());
  for (let i = 0; i < 30 && Object.keys(found).length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    found = leaks(before, snapshot());
  }
  expect(found, 'kernel state this test file left behind').toEqual({});
});
