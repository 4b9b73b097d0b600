import { useEffect, useState } from 'react';
import { Box, Text } from 'ink';
import type { UiState } from './store.js';
import { useSpinner } from './hooks.js';
import { t } from '../i18n/messages.js';
import { fitColumns, visible } from './reflow.js';
import { keysLine } from './frame.js';

/** When the work under way started (null: none); the spinner's ticks redraw the footer. */
function useBusySince(busy: boolean): number | null {
  const [since, setSince] = useState<number | null>(null);
  useEffect(() => setSince(busy ? Date.now() : null), [busy]);
  return since;
}

/** Past a second, how long the work has taken and the last news of it: a screen that
 * says what is happening is never mistaken for a frozen one. */
export function busyLine(busy: string, elapsedMs: number, live: string | null): string {
  if (elapsedMs < 1000) return `${busy}...`;
  const secs = t`${Math.floor(elapsedMs / 1000)} s`;
  return live ? `${busy} · ${secs} · ${live}` : `${busy}... ${secs}`;
}

/** What is happening (spinner), the last message, and the keys. */
export function Footer({ state, width, color, scroll }: { state: UiState; width: number; color: boolean; scroll: string }) {
  const spin = useSpinner(!!state.busy);
  const since = useBusySince(!!state.busy);
  const msg = state.busy ? `${spin} ${busyLine(state.busy, since === null ? 0 : Date.now() - since, state.live)}` : (state.message?.text ?? '');
  const tone = state.busy ? 'yellow' : state.message?.tone === 'good' ? 'green' : state.message?.tone === 'bad' ? 'red' : undefined;
  const keys = keysLine(width);
  // One line: the message cut to fit, the scroll position at the right edge.
  const room = Math.max(0, width - (scroll ? visible(scroll) + 1 : 0));
  const shown = fitColumns(msg, room);
  return (
    <Box flexDirection="column" flexShrink={0}>
      <Text wrap="truncate">
        <Text color={color ? tone : undefined} bold={!!state.busy || state.message?.tone !== 'info'}>
          {shown}
        </Text>
        <Text dimColor>{scroll ? ` ${scroll}` : ''}</Text>
      </Text>
      <Text dimColor wrap="truncate">
        {keys}
      </Text>
    </Box>
  );
}
