// Numbering a list of lesson modules, and finding a lesson in it by number or id.
import type { Lesson, LessonModule } from './types.js';

/** The lessons in the order given, numbered from 1. Two lessons with one id are a mistake
 * that would make `check <id>` ambiguous: refused here. */
export function curriculum(modules: LessonModule[]): Lesson[] {
  const seen = new Set<string>();
  for (const m of modules) {
    if (seen.has(m.id)) throw new Error(`two lessons have the id "${m.id}"`);
    seen.add(m.id);
  }
  return modules.map((m, i) => ({ ...m, number: i + 1 }));
}

/** A lesson by its number ("3") or id (any case), or undefined. */
export function findIn(lessons: readonly Lesson[], name: string): Lesson | undefined {
  const n = name.trim().toLowerCase();
  if (/^\d+$/.test(n)) return lessons[Number(n) - 1];
  return lessons.find((l) => l.id === n);
}
