// A limited group of a test's own for a runtime under test: whatever the runtime limits
// itself, what it runs (the suite's busy loop, hog, forks) stays within this bound.
import { Cgroup, type Ledger } from '../../src/core/index.js';

export interface Bound {
  /** CPU time per 100 ms period, in µs. */
  cpuQuotaUs: number;
  memoryMiB: number;
  pids: number;
}

export class BoundedGroup {
  readonly group: Cgroup;

  /** Made at once, registered in `ledger` (the test's cleanup removes it). */
  constructor(name: string, ledger: Ledger, bound: Bound) {
    this.group = new Cgroup(`${name}-${process.pid}`, ['cpu', 'memory', 'pids']);
    this.group.create(ledger);
    this.group.setCpuLimit(bound.cpuQuotaUs, 100000);
    this.group.setMemoryLimit(bound.memoryMiB * 1024 * 1024, { swap: false });
    this.group.setPidsLimit(bound.pids);
  }

  /** Shell words that move the shell running them into the group. */
  join(): string {
    return this.group
      .procsFiles()
      .map((f) => `echo $$ > ${f}`)
      .join('; ');
  }

  /** `argv`, started inside the group. */
  argv(argv: string[]): string[] {
    return ['/bin/sh', '-c', `${this.join()}; exec "$@"`, 'bounded', ...argv];
  }
}
