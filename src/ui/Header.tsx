import { Box, Text } from 'ink';
import type { WorkbookStore, UiState } from './store.js';
import { headerRows, type Piece } from './frame.js';

// A piece's key is its place in its row: pieces carry no id, and the same text recurs.
const pieceText = (p: Piece, i: number) => (
  <Text key={i} inverse={p.inverse} bold={p.bold} dimColor={p.dim} color={p.color}>
    {p.text}
  </Text>
);

/** Title, the lessons with their state, and which pane is shown: the rows frame.ts says,
 * which the first frame shows too. */
export function Header({ store, state, width, color }: { store: WorkbookStore; state: UiState; width: number; color: boolean }) {
  return (
    <Box flexDirection="column" flexShrink={0}>
      {headerRows(store, state, width, color).map((row, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: the header's rows are fixed, first to third
        <Text key={i} wrap="truncate">
          {row.map(pieceText)}
        </Text>
      ))}
    </Box>
  );
}
