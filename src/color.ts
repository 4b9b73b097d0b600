// Whether what the workbook prints is coloured: decided here only, for the CLI's own
// escapes, the lesson text (marked-terminal) and the TUI (ink), which both colour through
// chalk and would otherwise decide for themselves.
//
// The rules, in order:
//   NO_COLOR set and not empty (https://no-color.org): no colour. It beats FORCE_COLOR: the
//     reader's "no" is explicit, where FORCE_COLOR is often set for a whole CI runner.
//   FORCE_COLOR=0 or false: no colour. FORCE_COLOR empty, true or a number from 1 up:
//     colour, also into a pipe or a file, also with TERM=dumb (chalk reads it alike).
//     Any other value is ignored.
//   otherwise: colour on a terminal, unless TERM=dumb.

/** What FORCE_COLOR asks for: true, false, or nothing (unset or a value it does not know). */
export function forcedColor(env: NodeJS.ProcessEnv = process.env): boolean | undefined {
  const force = env.FORCE_COLOR;
  if (force === undefined) return undefined;
  if (force === '' || force === 'true') return true;
  if (force === 'false') return false;
  return /^\d+$/.test(force) ? Number(force) > 0 : undefined;
}

/** Colour for this stream? (`wanted`, not `use`: it is no React hook.) */
export function colorWanted(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  return forcedColor(env) ?? (!!stream.isTTY && env.TERM !== 'dumb');
}

/** Make chalk (ink's and marked-terminal's colouring, one shared instance) colour when we do.
 * chalk judges the terminal on its own (an unknown TERM, CI set: no colour) and would drop
 * the colours the workbook asks for. When we do not colour, it is left alone: the callers
 * then ask for no colour at all, and bold, dim and inverse still mark what they mark. */
export async function alignChalk(wanted: boolean): Promise<void> {
  if (!wanted) return;
  const { default: chalk } = await import('chalk');
  if (chalk.level === 0) chalk.level = 1;
}

/** The CLI's own escapes: each colour a function that wraps its text, or leaves it be when
 * `color` is off (colorWanted decides it). */
export function paint(color: boolean) {
  const wrap = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { green: wrap('32'), red: wrap('31'), yellow: wrap('33'), dim: wrap('2'), bold: wrap('1'), cyan: wrap('36') };
}
