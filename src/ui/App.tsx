// The workbook screen: header, the lesson text or the work pane, status and keys.
// All state lives in the store; this file maps keys to store actions and draws.
import { useEffect, useState } from 'react';
import { Box, useInput } from 'ink';
import { runOf, type WorkbookStore } from './store.js';
import { useStore, useTerminalSize } from './hooks.js';
import { Header } from './Header.js';
import { Pane, clampOffset, scrollInfo } from './Pane.js';
import { Footer } from './Footer.js';
import { Overlay } from './Overlay.js';
import { TooSmall, MIN_COLUMNS, MIN_ROWS } from './Screens.js';
import { lessonLines, pictureStart, renderedLessonLines, workLines } from './text.js';
import { screenLayout } from './frame.js';
import { usePicture } from './picture-hook.js';
import { glyphsFor, type Glyphs } from '../pictures/glyphs.js';
import { t } from '../i18n/messages.js';

export function App({ store, color, glyphs = glyphsFor() }: { store: WorkbookStore; color: boolean; glyphs?: Glyphs }) {
  const state = useStore(store);
  const { columns, rows } = useTerminalSize();
  const lesson = store.lesson;
  const { height, bodyHeight, width } = screenLayout(columns, rows);

  // Rendered already for the first frame (frame.ts): ink's first frame shows it too.
  const [text, setText] = useState<string[] | null>(() => renderedLessonLines(lesson, store.lab, width, color));
  useEffect(() => {
    let live = true;
    setText(renderedLessonLines(lesson, store.lab, width, color));
    void lessonLines(lesson, store.lab, width, color).then((l) => live && setText(l));
    return () => {
      live = false;
    };
  }, [lesson, store.lab, width, color]);

  const run = runOf(state, lesson);
  const picture = usePicture(lesson, store.lab, run, { width, glyphs, shown: state.pane === 'work', checking: state.checking });
  const work = workLines(lesson, run, store.lab, width, { picture, glyphs });
  const lines = state.pane === 'text' ? (text ?? [t`(rendering the lesson text...)`]) : work;
  const offset = state.scroll[state.pane];
  // From what is shown: after a step the store scrolls to "the bottom" (a very large offset),
  // from which a move up of a few lines would still be past the end and show nothing new.
  const scrollBy = (n: number) => store.scroll(Math.max(0, clampOffset(lines.length, offset, bodyHeight) + n) - offset);

  useInput((input, key) => {
    if (key.ctrl && input === 'c') return store.quit();
    const o = state.overlay;
    if (o) {
      if (o.kind === 'confirm-reset' && input === 'y') void store.resetLesson();
      else store.showOverlay(null);
      return;
    }
    if (input === 'q') return store.quit();
    if (key.return) return void store.advance();
    if (key.tab) return store.togglePane();
    if (key.leftArrow) return store.select(state.index - 1);
    if (key.rightArrow) return store.select(state.index + 1);
    if (key.upArrow || input === 'k') return scrollBy(-1);
    if (key.downArrow || input === 'j') return scrollBy(1);
    if (key.pageUp || input === 'b') return scrollBy(-(bodyHeight - 1));
    if (key.pageDown || input === ' ') return scrollBy(bodyHeight - 1);
    if (key.home || input === 'g') return store.scroll('top');
    if (key.end || input === 'G') return store.scroll('bottom');
    // 1-9 are lessons 1-9, and 0 is lesson 10, as on a keyboard's number row.
    if (/^[0-9]$/.test(input)) return store.select(input === '0' ? 9 : Number(input) - 1);
    switch (input) {
      case 'n':
        return void store.runNextStep();
      case 'c':
        return void store.runChecks();
      case 's':
        return void store.openShell();
      case 'h':
        return store.showHint();
      case 'y':
        return store.copyCommands();
      case 'p': {
        if (!lesson.picture) return store.note(t`This lesson has no picture.`);
        return store.showWorkAt(pictureStart(work));
      }
      case 'x':
        return store.showOverlay({ kind: 'confirm-reset' });
      case '?':
        return store.showOverlay({ kind: 'help' });
      case 't':
        return state.pane === 'text' ? undefined : store.togglePane();
      case 'w':
        return state.pane === 'work' ? undefined : store.togglePane();
    }
  });

  if (columns < MIN_COLUMNS || rows < MIN_ROWS) return <TooSmall columns={columns} rows={rows} onQuit={store.quit.bind(store)} />;

  return (
    <Box flexDirection="column" height={height} width={columns}>
      <Header store={store} state={state} width={width} color={color} />
      {state.overlay ? <Overlay overlay={state.overlay} width={width} height={bodyHeight} /> : <Pane lines={lines} offset={offset} height={bodyHeight} color={color} />}
      <Footer state={state} width={width} color={color} scroll={scrollInfo(lines.length, offset, bodyHeight)} />
    </Box>
  );
}
