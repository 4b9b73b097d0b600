import type React from 'react';
import { Box, Text, useInput } from 'ink';
import type { Overlay as OverlayState } from './store.js';
import { reflow, visible } from './reflow.js';
import { msg, t, tr } from '../i18n/messages.js';

export const HELP: Array<[string, string]> = [
  ['Enter', msg('the next step; after the last one, the checks')],
  ['n', msg('the next step')],
  ['c', msg('check: read the kernel, judge what is there now')],
  ['s', msg('a shell for this lesson (on the host, or in its container)')],
  ['h', msg('a hint; again: the next, from the idea to the commands')],
  ['y', msg("copy the current step's commands, to paste in a shell")],
  ['x', msg('reset: remove what the lesson made (also by hand)')],
  ['← →  1-9 0', msg('previous / next lesson, or lesson N if unlocked (0: 10)')],
  ['Tab', msg('lesson text / work (steps, output, checks, the picture)')],
  ['p', msg("the lesson's picture, drawn from the kernel (end of the work pane)")],
  ['↑ ↓ PgUp PgDn', msg('scroll (also Home End, j k, space, g G)')],
  ['?', msg('this help')],
  ['q  Ctrl-C', msg('quit: what the lessons made is removed')],
];

/** Help, hint or a question, drawn in place of the pane. */
export function Overlay({ overlay, width, height }: { overlay: OverlayState; width: number; height: number }) {
  // h on a hint: the next one. The workbook closes an overlay on any key, in this same
  // keypress (before or after this handler), so the next hint is shown once it has.
  useInput(
    (input) => {
      if (overlay.kind === 'hint' && input === 'h') queueMicrotask(overlay.more);
    },
    { isActive: overlay.kind === 'hint' },
  );
  let title = '';
  let body: React.ReactNode = null;
  if (overlay.kind === 'help') {
    title = t`Keys`;
    const w = Math.max(...HELP.map(([k]) => visible(k)));
    // Inside the border and padding; a long description wraps under itself, never cut.
    const inner = Math.max(w + 12, width - 4);
    body = HELP.map(([k, v]) => {
      const [first = '', ...more] = reflow(tr(v), inner, ' '.repeat(w + 2));
      return (
        <Text key={k}>
          <Text bold>{k + ' '.repeat(w - visible(k))}</Text>
          {first.slice(w)}
          {more.map((line) => `\n${line}`).join('')}
        </Text>
      );
    });
  } else if (overlay.kind === 'hint') {
    title = overlay.title;
    body = <Text wrap="wrap">{overlay.text}</Text>;
  } else if (overlay.kind === 'confirm-reset') {
    title = t`Reset this lesson?`;
    body = <Text wrap="wrap">{t`This removes what the lesson made (mounts, cgroup, containers, lab files), also what you did by hand. Your progress is kept. Press y to reset, any other key to keep it.`}</Text>;
  }
  return (
    <Box flexDirection="column" height={height} width={width} borderStyle="round" paddingX={1}>
      <Text bold>{title}</Text>
      {body}
      <Text dimColor>{overlay.kind === 'confirm-reset' ? '' : overlay.kind === 'hint' ? (overlay.next ? t`h: ${overlay.next} · any other key closes` : t`the last hint · any key but h closes`) : t`any key closes`}</Text>
    </Box>
  );
}
