// Global setup: the whole suite must leave the kernel as it found it.
import { snapshot, leaks, describeLeaks, type KernelState } from './kernel-state.js';

let before: KernelState;

export function setup() {
  before = snapshot();
}

export async function teardown() {
  // Give killed processes a moment to be reaped.
  let found = leaks(before, snapshot());
  for (let i = 0; i < 20 && Object.keys(found).length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    found = leaks(before, snapshot());
  }
  if (Object.keys(found).length) {
    throw new Error(`the test run left kernel state behind:\n${describeLeaks(found)}`);
  }
}
