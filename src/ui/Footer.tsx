import { Box, Text } from 'ink';
import type { UiState } from './store.js';
import { useSpinner } from './hooks.js';

export const KEYS_SHORT = 'Enter next · c check · s shell · h hint · ←→ lesson · Tab text/work · ? help · q quit';

/** What is happening (spinner), the last message, and the keys. */
export function Footer({ state, width, color, scroll }: { state: UiState; width: number; color: boolean; scroll: string }) {
  const spin = useSpinner(!!state.busy);
  const msg = state.busy ? `${spin} ${state.busy}...` : (state.message?.text ?? '');
  const tone = state.busy ? 'yellow' : state.message?.tone === 'good' ? 'green' : state.message?.tone === 'bad' ? 'red' : undefined;
  const keys = width >= KEYS_SHORT.length ? KEYS_SHORT : 'Enter next · c check · s shell · ? help · q quit';
  return (
    <Box flexDirection="column">
      <Box>
        <Box flexGrow={1}>
          <Text wrap="truncate" color={color ? tone : undefined} bold={!!state.busy || state.message?.tone !== 'info'}>
            {msg}
          </Text>
        </Box>
        <Text dimColor>{scroll ? ` ${scroll}` : ''}</Text>
      </Box>
      <Text dimColor wrap="truncate">
        {keys}
      </Text>
    </Box>
  );
}
