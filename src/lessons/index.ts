// The curriculum, in order. A lesson is named by its number or its id.
import { overlayLesson } from './01-overlay.js';
import { cgroupLesson } from './02-cgroup-cpu.js';
import { mountNamespaceLesson } from './03-mount-namespace.js';
import { pidNamespaceLesson } from './04-pid-namespace.js';
import { networkNamespaceLesson } from './05-network-namespace.js';
import { networkLesson } from './06-network.js';
import { layersLesson } from './07-layers.js';
import type { Lesson } from './types.js';

export type { Lesson, Step, LessonContext } from './types.js';

export const LESSONS: Lesson[] = [overlayLesson, cgroupLesson, mountNamespaceLesson, pidNamespaceLesson, networkNamespaceLesson, networkLesson, layersLesson];

export function findLesson(name: string): Lesson | undefined {
  const n = name.trim().toLowerCase();
  if (/^\d+$/.test(n)) return LESSONS.find((l) => l.number === Number(n));
  return LESSONS.find((l) => l.id === n);
}
