import type React from 'react';
import { Box, Text } from 'ink';
import type { Overlay as OverlayState } from './store.js';

export const HELP: Array<[string, string]> = [
  ['Enter', 'run the next step; after the last one, run the checks'],
  ['n', 'run the next step'],
  ['c', 'check: read the kernel and judge what is there now'],
  ['s', 'open a shell for this lesson (inside its container for 3-5); exit returns here'],
  ['h', 'a hint for this lesson'],
  ['x', 'reset this lesson: remove what it made, by the steps or by hand'],
  ['← →  or  1-9', 'previous / next lesson, or lesson N (if unlocked)'],
  ['Tab', 'switch between the lesson text and the work (steps, output, checks)'],
  ['↑ ↓  PgUp PgDn  Home End', 'scroll (also j k, space, g G)'],
  ['?', 'this help'],
  ['q  or  Ctrl-C', 'quit: everything the lessons made is removed; progress is kept'],
];

/** Help, hint or a question, drawn in place of the pane. */
export function Overlay({ overlay, width, height }: { overlay: OverlayState; width: number; height: number }) {
  let title = '';
  let body: React.ReactNode = null;
  if (overlay.kind === 'help') {
    title = 'Keys';
    const w = Math.max(...HELP.map(([k]) => k.length));
    body = HELP.map(([k, v]) => (
      <Text key={k} wrap="truncate-end">
        <Text bold>{k.padEnd(w)}</Text>
        {'  '}
        {v}
      </Text>
    ));
  } else if (overlay.kind === 'hint') {
    title = 'Hint';
    body = <Text wrap="wrap">{overlay.text}</Text>;
  } else if (overlay.kind === 'confirm-reset') {
    title = 'Reset this lesson?';
    body = <Text wrap="wrap">This removes what the lesson made (mounts, cgroup, containers, lab files), also what you did by hand. Your progress is kept. Press y to reset, any other key to keep it.</Text>;
  }
  return (
    <Box flexDirection="column" height={height} width={width} borderStyle="round" paddingX={1}>
      <Text bold>{title}</Text>
      {body}
      <Text dimColor>{overlay.kind === 'confirm-reset' ? '' : 'any key closes'}</Text>
    </Box>
  );
}
