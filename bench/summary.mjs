// The table of issue 23 ("Speed"), with this run's figures beside its targets: every ratio is
// to `runc run` measured in the same alternated rounds (bench.mjs, startBench).
//
// | what | now | ratio to runc | target | met |

/** The start variants the table reads, by the names startBench gives them. */
export const START = {
  warm: 'core, from a running workbook, warm',
  cold: 'core, from a running workbook (helpers started ahead)',
  coldNoPool: 'core, from a process with no helper started ahead',
  cli: 'container-lessons run (fresh CLI)',
  cliNoEarly: 'the same without the early start (a Node stage A)',
  koffi: `node -e "require('koffi')" (one Node start with koffi)`,
};

/** @typedef {{ name: string, medianMs: number | null, ratio: number | null }} StartRow */
/** @typedef {{ what: string, now: string, ratio: string, target: string, met: string }} SummaryRow */

/**
 * @param {{ start?: { rows: StartRow[], reference: string | null }, workbook?: {
 *   tui: { firstFrameMs: number | null, textShownMs: number | null },
 *   solveAll: { ms: number | null, passed: boolean, byLesson: Array<{ lesson: number, ms: number }> },
 *   keypresses?: { coldOnKeypress: number, lessons: number[], byKind: Record<string, number>, hookSeen: boolean, failed: string | null, programs?: string[] } | { error: string },
 * } }} r
 * @returns {SummaryRow[]}
 */
export function summaryRows(r) {
  const row = (/** @type {string} */ name) => r.start?.rows.find((x) => x.name === name && x.medianMs !== null);
  const notMeasured = (/** @type {string} */ why) => ({ now: '-', ratio: '-', met: `not measured (${why})` });
  const verdict = (/** @type {boolean} */ ok) => (ok ? 'met' : 'NOT MET');
  const noStart = r.start ? 'failed' : '--only skipped it';
  const noWorkbook = r.workbook ? 'failed' : '--only skipped it';
  /** @type {SummaryRow[]} */
  const rows = [];

  const warm = row(START.warm);
  const kp = r.workbook?.keypresses;
  let warmMet;
  if (!kp) warmMet = `not measured (the keypress walk: ${r.workbook ? 'skipped' : noWorkbook})`;
  else if ('error' in kp) warmMet = `not measured (${kp.error})`;
  else if (!kp.hookSeen) warmMet = 'not measured (no helper start was logged)';
  else {
    // The details (which step, which helper) follow the table, in the keypress walk's line.
    const stopped = kp.failed ? `the walk stopped early: ${kp.failed.split(' / ')[0]}` : '';
    const kinds = Object.entries(kp.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    const where = `${kp.coldOnKeypress} helpers started cold on keypresses, in lessons ${kp.lessons.join(', ')} (${kinds})`;
    if (kp.coldOnKeypress) warmMet = `NOT MET: ${where}${stopped ? `; ${stopped}` : ''}`;
    // A walk that stopped saw only part of the workbook: no verdict on the rest.
    else if (kp.failed) warmMet = `not measured: ${stopped}; no cold start before that`;
    else if (kp.programs?.length) warmMet = `met: no keypress waited for a helper of the workbook's to start (${kp.programs.length} started by a program a step runs as its own, counted apart: see the keypress walk)`;
    else warmMet = 'met: no keypress waited for a helper to start';
  }
  rows.push({ what: 'container start from a running workbook, warm', ...(warm ? { now: `${warm.medianMs} ms`, ratio: String(warm.ratio ?? '-') } : notMeasured(noStart)), target: 'every kind of start in the workbook warm', met: warmMet });

  const cold = row(START.cold);
  const koffi = row(START.koffi);
  const koffiNote = koffi ? ` (one Node start with koffi: ${koffi.medianMs} ms = ${koffi.ratio ?? '-'})` : '';
  rows.push({
    what: 'container start from a running workbook, cold',
    ...(cold ? { now: `${cold.medianMs} ms`, ratio: String(cold.ratio ?? '-'), met: cold.ratio === null ? 'not measured (no runc)' : verdict(cold.ratio <= 2.5) } : notMeasured(noStart)),
    target: `<= 2.5${koffiNote}`,
  });

  const cli = row(START.cli);
  rows.push({
    what: '`container-lessons run` from a fresh CLI',
    ...(cli ? { now: `${cli.medianMs} ms`, ratio: String(cli.ratio ?? '-'), met: cli.ratio === null ? 'not measured (no runc)' : verdict(cli.ratio <= 4) } : notMeasured(noStart)),
    target: '<= 4',
  });

  const tui = r.workbook?.tui;
  rows.push({
    what: 'TUI first frame / lesson text shown',
    ...(tui && tui.firstFrameMs !== null && tui.textShownMs !== null ? { now: `${tui.firstFrameMs} / ${tui.textShownMs} ms`, ratio: '', met: verdict(tui.firstFrameMs <= 200 && tui.textShownMs <= 300) } : notMeasured(noWorkbook)),
    target: '<= 200 / <= 300 ms',
  });

  const solve = r.workbook?.solveAll;
  const six = solve?.byLesson.find((l) => l.lesson === 6);
  const s = (/** @type {number} */ x) => `${Math.round(x / 100) / 10} s`;
  let solveRow = notMeasured(noWorkbook);
  if (solve && solve.ms !== null && six) {
    // The target was set when the workbook had seven lessons (7.5 s then): it is judged on
    // those seven, with the CLI's own start and end; the whole run is said beside it.
    const sum = (/** @type {Array<{ ms: number }>} */ ls) => ls.reduce((a, l) => a + l.ms, 0);
    const outside = solve.ms - sum(solve.byLesson);
    const firstSeven = solve.byLesson.filter((l) => l.lesson <= 7);
    const sevenMs = sum(firstSeven) + outside;
    const more = solve.byLesson.length > firstSeven.length;
    const ok = sevenMs <= 5000 && six.ms <= 1500;
    const judged = more ? ` for lessons 1-7, the curriculum the target was set on (${s(sevenMs)}); all ${solve.byLesson.length}: ${s(solve.ms)}` : '';
    solveRow = { now: `${s(solve.ms)} (${s(six.ms)}${more ? `; lessons 1-7: ${s(sevenMs)}` : ''})`, ratio: '', met: solve.passed ? `${verdict(ok)}${judged}` : 'NOT MET: solve all failed' };
  }
  rows.push({ what: '`solve all` (lesson 6 alone)', ...solveRow, target: '<= 5 s (lesson 6 <= 1.5 s)' });
  return rows;
}

/** The rows as a Markdown table, as the issue and the closing note show it. */
export function summaryTable(/** @type {SummaryRow[]} */ rows) {
  const cols = /** @type {const} */ (['what', 'now', 'ratio', 'target', 'met']);
  const head = ['what', 'now', 'ratio to runc', 'target', 'met'];
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${cols.map((c) => r[c]).join(' | ')} |`)].join('\n');
}
