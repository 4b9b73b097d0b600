// The curriculum: the lesson modules in the order a learner takes them. A lesson's number
// is its place in this list. Adding a lesson: its module (src/lessons/NN-id.ts), its text
// (lessons/NN-id.md), and its entry here (an import and a place in the list).
import { curriculum, findIn } from './curriculum.js';
import overlay from './01-overlay.js';
import cgroupCpu from './02-cgroup-cpu.js';
import mountNamespace from './03-mount-namespace.js';
import pidNamespace from './04-pid-namespace.js';
import networkNamespace from './05-network-namespace.js';
import network from './06-network.js';
import layers from './07-layers.js';
import memoryPids from './08-memory-pids.js';
import otherNamespaces from './09-namespaces.js';
import lockingRootIn from './10-locking-root-in.js';
import capstone from './11-capstone.js';

export type { Lesson, LessonModule, Step, LessonContext } from './types.js';
export { curriculum, findIn } from './curriculum.js';

export const LESSONS = curriculum([overlay, cgroupCpu, mountNamespace, pidNamespace, networkNamespace, network, layers, memoryPids, otherNamespaces, lockingRootIn, capstone]);

/** A lesson of the curriculum by its number or its id. */
export function findLesson(name: string) {
  return findIn(LESSONS, name);
}
