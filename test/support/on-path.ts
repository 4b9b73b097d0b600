// Whether a command is installed: what a test that needs a host tool asks before it runs.
import { spawnSync } from 'node:child_process';

/** `cmd` is found on PATH (as the shell finds it). */
export const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
