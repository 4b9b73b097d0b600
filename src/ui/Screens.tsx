import { Box, Text, useInput } from 'ink';
import type { DoctorReport } from '../doctor.js';
import { label, t } from '../i18n/messages.js';

import { MIN_COLUMNS, MIN_ROWS } from './frame.js';

export { MIN_COLUMNS, MIN_ROWS } from './frame.js';

export function TooSmall({ columns, rows, onQuit }: { columns: number; rows: number; onQuit: () => void }) {
  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) onQuit();
  });
  return (
    <Box flexDirection="column">
      <Text bold>{t`The terminal is too small (${columns}x${rows}).`}</Text>
      <Text wrap="wrap">{t`The workbook needs at least ${MIN_COLUMNS}x${MIN_ROWS}: make the window larger, or use the commands (container-lessons show 1). q quits.`}</Text>
    </Box>
  );
}

/** What the machine lacks, with fixes (the same facts as `doctor`). */
export function Prereqs({ report, blocking, onContinue, onQuit, color }: { report: DoctorReport; blocking: boolean; onContinue: () => void; onQuit: () => void; color: boolean }) {
  useInput((input, key) => {
    if (input === 'q' || key.escape || (key.ctrl && input === 'c')) onQuit();
    else if (!blocking && key.return) onContinue();
  });
  const bad = report.findings.filter((f) => f.level !== 'ok');
  return (
    <Box flexDirection="column">
      <Text bold inverse>
        {` ${t`container-lessons: this machine is not ready`} `}
      </Text>
      {bad.map((f) => (
        <Box key={f.name} flexDirection="column" marginTop={1}>
          <Text color={color ? (f.level === 'error' ? 'red' : 'yellow') : undefined} bold>
            {f.level === 'error' ? '✘' : '!'} {f.name}: {f.detail}
          </Text>
          {f.fix ? <Text wrap="wrap">{`  ${label(t`fix:`)}${f.fix}`}</Text> : null}
        </Box>
      ))}
      <Box marginTop={1}>
        <Text dimColor>{blocking ? t`q quits.` : t`Enter continues anyway (some lessons will fail), q quits.`}</Text>
      </Box>
    </Box>
  );
}
