// What the bundle leaves out must be what the lesson texts never use: scripts/bundle.mjs
// replaces cli-highlight and node-emoji with stubs, which is right only while render.ts
// draws code blocks itself and turns emoji off.
import { describe, it, expect, vi } from 'vitest';

const highlight = vi.fn((code: string) => code);
vi.mock('cli-highlight', () => ({ highlight }));

const { renderMarkdown } = await import('../../src/render.js');

describe('lesson text rendering', () => {
  it('never calls the syntax highlighter (the bundle has a stub for it)', () => {
    const out = renderMarkdown('# T\n\n```sh\nmount -t overlay overlay -o lowerdir=a:b merged\n```\n\n```\nplain block\n```\n', { color: true, width: 80 });
    expect(highlight).not.toHaveBeenCalled();
    expect(out).toContain('mount -t overlay overlay -o lowerdir=a:b merged');
    expect(out).toContain('│'); // render.ts's own gutter
  });

  it('keeps :name: as typed (no emoji: the bundle has no emoji table)', () => {
    const out = renderMarkdown('The layers l/A:b:l/C and :cat: stay text.\n', { color: true, width: 80 });
    expect(out).toContain('l/A:b:l/C');
    expect(out).toContain(':cat:');
  });
});

describe('lesson text as a reader expects it, at 80 columns', async () => {
  const { LESSONS } = await import('../../src/lessons/index.js');
  const { labFor } = await import('../../src/lab.js');
  const { lessonMarkdown } = await import('../../src/render.js');
  const { stripVTControlCharacters } = await import('node:util');
  const lab = labFor({ CONTAINER_LESSONS_HOME: '/tmp/some-long-lab-path/container-lessons' });
  const ways = {
    plain: (md: string) => renderMarkdown(md, { color: false, layout: true, width: 80 }),
    'colour, codes removed': (md: string) => stripVTControlCharacters(renderMarkdown(md, { color: true, width: 80 })),
  };
  const TABLE = [
    '| namespace | what it isolates | lesson |',
    '|-----------|------------------|--------|',
    '| `mnt` | the mount table: what `/` and every path lead to | 3 |',
    '| **pid** | process ids: a shell can be PID 1 | 4 |',
    '| net | links, addresses, routes, the firewall | 5, 6 |',
    '',
  ].join('\n');
  const WIDE = ['| a | b |', '|---|---|', `| ${'word '.repeat(12)}| ${'other '.repeat(14)}|`, '| x | y |', ''].join('\n');

  for (const [name, render] of Object.entries(ways)) {
    describe(name, () => {
      it('headings are titles without their # marks', () => {
        for (const lesson of LESSONS) {
          const lines = render(lessonMarkdown(lesson, lab)).split('\n');
          expect(lines[0]).toMatch(new RegExp(`^${lesson.number}\\. \\w`));
          expect(lines.filter((l) => /^#{1,6} /.test(l))).toEqual([]);
          expect(lines).toContain('The steps, as commands you could type');
          expect(lines.some((l) => l.startsWith(`Step 1: ${lesson.steps[0]!.title.slice(0, 40)}`))).toBe(true);
        }
      });

      it('one blank line around every code block, never two blank lines in a row', () => {
        for (const lesson of LESSONS) {
          const out = render(lessonMarkdown(lesson, lab));
          expect(out).not.toMatch(/\n[ \t]*\n[ \t]*\n/);
          const lines = out.split('\n');
          lines.forEach((l, i) => {
            if (!l.startsWith('  │ ')) return;
            if (!lines[i - 1]!.startsWith('  │ ')) expect([lines[i - 1], lines[i - 2] === ''], `${lesson.id}: before ${l}`).toEqual(['', false]);
            if (!lines[i + 1]?.startsWith('  │ ')) expect(lines[i + 1] ?? '', `${lesson.id}: after ${l}`).toBe('');
          });
        }
      });

      it('no line is wider than the width; list items show their text, not its marks', () => {
        for (const lesson of LESSONS) for (const l of render(lessonMarkdown(lesson, lab)).split('\n')) expect(l.length, `${lesson.id}: ${l}`).toBeLessThanOrEqual(80);
        const out = render('- **A veth pair is a cable.** `ip link add A type veth peer name B` makes two\n  ends: what goes in one comes out of the other.\n- second\n');
        expect(out).toContain('  • A veth pair is a cable. ip link add A type veth peer name B makes two ends:');
        expect(out).toContain('    what goes in one comes out of the other.');
        expect(out).not.toMatch(/[`*]/);
      });

      it('a table: its columns aligned under an underlined header, its cells without marks', () => {
        const lines = render(`Before.\n\n${TABLE}\nAfter.\n`).split('\n');
        expect(lines.slice(0, 2)).toEqual(['Before.', '']);
        const rows = lines.slice(2, lines.indexOf('', 2));
        expect(rows).toEqual([
          'namespace  what it isolates                                lesson',
          '─────────  ──────────────────────────────────────────────  ──────',
          'mnt        the mount table: what / and every path lead to  3',
          'pid        process ids: a shell can be PID 1               4',
          'net        links, addresses, routes, the firewall          5, 6',
        ]);
        expect(lines.slice(2 + rows.length)).toEqual(['', 'After.', '', '']);
      });

      it('a table wider than the text wraps inside its cells and keeps its columns', () => {
        const rows = render(WIDE).split('\n').filter(Boolean);
        for (const r of rows) expect(r.length).toBeLessThanOrEqual(80);
        const col = rows[0]!.indexOf('b');
        expect(rows[1]!.slice(col - 2, col)).toBe('  ');
        for (const r of rows.slice(2)) expect(r.length <= col || r.slice(col - 2, col) === '  ', r).toBe(true);
        const words = rows.join(' ').split(/\s+/);
        expect([words.filter((w) => w === 'word').length, words.filter((w) => w === 'other').length]).toEqual([12, 14]);
      });
    });
  }

  it('`show` into a pipe still prints the markdown itself', () => {
    const md = lessonMarkdown(LESSONS[0]!, lab);
    expect(renderMarkdown(md, { color: false })).toBe(md);
  });
});
