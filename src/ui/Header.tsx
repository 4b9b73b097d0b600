import { Box, Text } from 'ink';
import { runOf, type WorkbookStore, type UiState } from './store.js';
import { t, tr } from '../i18n/messages.js';
import { fitColumns } from './reflow.js';

const MARK = { passed: '✔', open: '○', locked: '🔒' } as const;

/** Title, the lessons with their state, and which pane is shown. */
export function Header({ store, state, width, color }: { store: WorkbookStore; state: UiState; width: number; color: boolean }) {
  const lesson = store.lesson;
  const run = runOf(state, lesson);
  const done = run.steps.filter((s) => s.status === 'done').length;
  const title = ` container-lessons · ${lesson.number}/${store.lessons.length} ${tr(lesson.title)} `;
  const checks = run.checks ? (run.passedNow ? t`passed` : t`failed`) : t`not run`;
  return (
    <Box flexDirection="column" flexShrink={0}>
      <Text inverse bold wrap="truncate">
        {fitColumns(title, width)}
      </Text>
      <Box>
        <Text wrap="truncate">
          {store.lessons.map((l, i) => {
            const st = store.lessonState(i);
            const current = i === state.index;
            const label = current ? ` ${MARK[st]} ${l.number} ${l.id} ` : ` ${MARK[st]} ${l.number} `;
            return (
              <Text key={l.id} inverse={current} bold={current} dimColor={st === 'locked' && !current} color={color && st === 'passed' ? 'green' : undefined}>
                {label}
              </Text>
            );
          })}
        </Text>
      </Box>
      <Box>
        <Text wrap="truncate">
          <Text inverse={state.pane === 'text'} bold={state.pane === 'text'}>
            {` ${t`Text`} `}
          </Text>
          <Text> </Text>
          <Text inverse={state.pane === 'work'} bold={state.pane === 'work'}>
            {` ${t`Work`} `}
          </Text>
          <Text dimColor>
            {`  ${t`steps ${done}/${run.steps.length} · checks: ${checks}`}`}
            {state.passed[lesson.id] ? ` · ${t`lesson passed`}` : ''}
          </Text>
        </Text>
      </Box>
    </Box>
  );
}
