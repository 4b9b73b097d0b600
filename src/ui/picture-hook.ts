// The lesson's picture in the TUI: its source is opened when the lesson is shown and closed
// when it is left; it is drawn again when the lesson's run changes (a step or a check ended),
// when the width changes, while a check runs (a live picture marks it), and every `everyMs`
// of a live picture while the Work pane is shown.
import { useEffect, useRef, useState } from 'react';
import type { Lab } from '../lab.js';
import type { Lesson } from '../lessons/index.js';
import type { Glyphs } from '../pictures/glyphs.js';
import { drawSafely, type Picture, type PictureSource } from '../pictures/picture.js';
import type { LessonRun } from './store.js';

export function usePicture(lesson: Lesson, lab: Lab, run: LessonRun, opts: { width: number; glyphs: Glyphs; shown: boolean; checking: boolean }): Picture | null {
  const [picture, setPicture] = useState<Picture | null>(null);
  const source = useRef<PictureSource | null>(null);
  /** The source a draw is under way for: a draw of the same source waits for it, a new
   * lesson's source does not. */
  const drawing = useRef<PictureSource | null>(null);
  const { width, glyphs, shown, checking } = opts;

  // One source per lesson shown.
  useEffect(() => {
    const s = lesson.picture?.(lab) ?? null;
    source.current = s;
    setPicture(null);
    return () => {
      source.current = null;
      s?.close?.();
    };
  }, [lesson, lab]);

  useEffect(() => {
    source.current?.checking?.(checking);
  }, [checking]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: these are when to draw again, not what the drawing reads: a new lesson (its source), a step or a check that ended (run), a check that starts or ends
  useEffect(() => {
    const s = source.current;
    if (!s || !shown) return;
    let live = true;
    const draw = () => {
      if (drawing.current === s) return;
      drawing.current = s;
      void drawSafely(s, { width, glyphs }).then((p) => {
        if (drawing.current === s) drawing.current = null;
        if (live && source.current === s) setPicture(p);
      });
    };
    draw();
    const timer = s.everyMs ? setInterval(draw, s.everyMs) : undefined;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [lesson, run, width, glyphs, shown, checking]);

  return picture;
}
