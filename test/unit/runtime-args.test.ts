// run's command line (the capstone's runtime interface), pure: what each form means and what
// is refused.
import { describe, it, expect } from 'vitest';
import { parseRunArgs, parseCpus, parseMemory, parsePids, parseIpv4Cidr, RunInputError } from '../../src/runtime-args.js';
import { exitCodeOf } from '../../src/runtime.js';

const refused = (argv: string[]) => {
  try {
    parseRunArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(RunInputError);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
};

describe('run arguments', () => {
  it('IMAGE then the command: options end at the image, the command keeps its own', () => {
    const a = parseRunArgs(['--name', 'web', '--hostname=box', '--cpus', '0.5', '--memory', '64m', '--pids', '32', '--ip', '10.88.0.2/24', 'base', 'sh', '-c', 'exit 7', '--name', 'x']);
    expect(a).toMatchObject({ image: 'base', rootfs: null, name: 'web', hostname: 'box', cpus: 0.5, memoryBytes: 64 * 1024 * 1024, pids: 32, ip: { address: '10.88.0.2', prefix: 24 } });
    expect(a.argv).toEqual(['sh', '-c', 'exit 7', '--name', 'x']);
  });

  it('without options: no limits, name and hostname left to the runtime', () => {
    expect(parseRunArgs(['base', 'true'])).toMatchObject({ image: 'base', name: null, hostname: null, cpus: null, memoryBytes: null, pids: null, ip: null, argv: ['true'] });
  });

  it('--rootfs DIR or lab: no image, every word after the options is the command (also after --)', () => {
    expect(parseRunArgs(['--rootfs', 'lab', 'sh', '-c', 'true'])).toMatchObject({ image: null, rootfs: 'lab', argv: ['sh', '-c', 'true'] });
    expect(parseRunArgs(['--rootfs', '/srv/root', '--', '/bin/true'])).toMatchObject({ image: null, rootfs: '/srv/root', argv: ['/bin/true'] });
  });

  it('refuses a missing image or command, unknown options and bad values, each in one line', () => {
    expect(refused([])).toMatch(/which image/);
    expect(refused(['base'])).toMatch(/no command given/);
    expect(refused(['--rootfs', 'lab'])).toMatch(/no command given/);
    expect(refused(['--cpus', 'abc', 'base', 'true'])).toMatch(/--cpus is a number of CPUs such as 0.5, not "abc"/);
    expect(refused(['--memory', '12q', 'base', 'true'])).toMatch(/--memory/);
    expect(refused(['--pids', '0', 'base', 'true'])).toMatch(/--pids/);
    expect(refused(['--ip', '10.0.0.300/24', 'base', 'true'])).toMatch(/--ip/);
    expect(refused(['--ip', '10.0.0.3', 'base', 'true'])).toMatch(/--ip/);
    expect(refused(['--volume', 'x', 'base', 'true'])).toMatch(/unknown option --volume/);
    expect(refused(['--name', '../x', 'base', 'true'])).toMatch(/--name/);
    expect(refused(['--name', 'a', '--name', 'b', 'base', 'true'])).toMatch(/twice/);
    expect(refused(['--hostname', 'h'.repeat(65), 'base', 'true'])).toMatch(/--hostname/);
    expect(parseRunArgs(['base', '--cpus']).argv).toEqual(['--cpus']); // after the image: the command
    for (const argv of [[], ['--cpus', 'abc', 'base', 'true'], ['--ip', 'x', 'b', 'c']]) expect(refused(argv)).not.toContain('\n');
  });

  it('values: CPUs from 0.01, memory in bytes or k/m/g (powers of 1024), whole pids', () => {
    expect(parseCpus('0.2')).toBe(0.2);
    expect(parseCpus('2')).toBe(2);
    expect(() => parseCpus('0.001')).toThrow(/smallest quota/);
    expect(() => parseCpus('-1')).toThrow(RunInputError);
    expect(() => parseCpus('0')).toThrow(RunInputError);
    expect(parseMemory('1048576')).toBe(1048576);
    expect(parseMemory('32m')).toBe(32 * 1024 ** 2);
    expect(parseMemory('1G')).toBe(1024 ** 3);
    expect(parseMemory('512k')).toBe(512 * 1024);
    expect(() => parseMemory('-5m')).toThrow(RunInputError);
    expect(parsePids('32')).toBe(32);
    expect(() => parsePids('3.5')).toThrow(RunInputError);
    expect(parseIpv4Cidr('192.168.7.9/16')).toEqual({ address: '192.168.7.9', prefix: 16 });
  });

  it('--help asks for the usage, nothing else is required then', () => {
    expect(parseRunArgs(['--help']).help).toBe(true);
  });

  it("the exit code: the command's, or 128 + the signal that ended it", () => {
    expect(exitCodeOf({ code: 7, signal: null })).toBe(7);
    expect(exitCodeOf({ code: null, signal: 'SIGKILL' })).toBe(137);
    expect(exitCodeOf({ code: null, signal: 'SIGTERM' })).toBe(143);
  });
});
