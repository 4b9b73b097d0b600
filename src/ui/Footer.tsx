import { Box, Text } from 'ink';
import type { UiState } from './store.js';
import { useSpinner } from './hooks.js';
import { t } from '../i18n/messages.js';
import { fitColumns, visible } from './reflow.js';

/** The keys line: all of them when they fit, the essential ones when not. */
function keysLine(width: number): string {
  const all = t`Enter next · c check · s shell · h hint · ←→ lesson · Tab text/work · ? help · q quit`;
  return width >= visible(all) ? all : t`Enter next · c check · s shell · ? help · q quit`;
}

/** What is happening (spinner), the last message, and the keys. */
export function Footer({ state, width, color, scroll }: { state: UiState; width: number; color: boolean; scroll: string }) {
  const spin = useSpinner(!!state.busy);
  const msg = state.busy ? `${spin} ${state.busy}...` : (state.message?.text ?? '');
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
