import { Box, Text } from 'ink';
import type { Line } from './text.js';

import { clampOffset } from './frame.js';

export { clampOffset, scrollInfo } from './frame.js';

/** A window of `height` lines from `lines`, starting at `offset` (clamped). */
export function Pane({ lines, offset, height, color }: { lines: Array<string | Line>; offset: number; height: number; color: boolean }) {
  const start = clampOffset(lines.length, offset, height);
  return (
    <Box flexDirection="column" height={height} flexShrink={0} overflow="hidden">
      {lines.slice(start, start + height).map((l, i) => {
        const line = typeof l === 'string' ? { text: l } : l;
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: the key is the line's number in the text, which is what identifies a line here (lines carry no id, and the same text recurs)
          <Text key={start + i} wrap="truncate" color={color ? line.color : undefined} bold={line.bold} dimColor={line.dim}>
            {line.text || ' '}
          </Text>
        );
      })}
    </Box>
  );
}
