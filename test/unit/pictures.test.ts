// The pictures' drawing primitives and the choice of glyphs, as pure functions.
import { describe, it, expect } from 'vitest';
import { ASCII_GLYPHS, UNICODE_GLYPHS, glyphsFor } from '../../src/pictures/glyphs.js';
import { localeIsUtf8 } from '../../src/i18n/language.js';
import { box, besides, clip, gauge, legendLines, pictureLines, sparkline, tree } from '../../src/pictures/picture.js';
import { columns, drawCpuShare, type Sample } from '../../src/pictures/cpu-share.js';

describe('glyphs', () => {
  it('follow the locale as setlocale does: LC_ALL, then LC_CTYPE, then LANG; none is C', () => {
    expect(localeIsUtf8({ LANG: 'en_US.UTF-8' })).toBe(true);
    expect(localeIsUtf8({ LANG: 'C.utf8' })).toBe(true);
    expect(localeIsUtf8({ LC_ALL: 'C', LANG: 'en_US.UTF-8' })).toBe(false);
    expect(localeIsUtf8({ LC_CTYPE: 'de_DE.UTF-8', LANG: 'C' })).toBe(true);
    expect(localeIsUtf8({})).toBe(false);
    expect(glyphsFor({ LANG: 'POSIX' })).toBe(ASCII_GLYPHS);
    expect(glyphsFor({ LANG: 'C.UTF-8' })).toBe(UNICODE_GLYPHS);
  });

  it('the ASCII set is ASCII, and both sets draw one column per character', () => {
    for (const [k, v] of Object.entries(ASCII_GLYPHS)) if (typeof v === 'string') expect(v, k).toMatch(/^[\x20-\x7e]+$/);
    for (const b of ASCII_GLYPHS.bars) expect(b).toMatch(/^[\x20-\x7e]$/);
    expect(UNICODE_GLYPHS.bars).toHaveLength(ASCII_GLYPHS.bars.length);
  });
});

describe('drawing', () => {
  const g = UNICODE_GLYPHS;
  it('fit cuts with an ellipsis; box pads to one width; besides wraps boxes that do not fit', () => {
    expect(clip('abcdef', 4, g)).toBe('abc…');
    expect(clip('abcdef', 4, ASCII_GLYPHS)).toBe('a...');
    expect(clip('abc', 4, g)).toBe('abc');
    const b = box('host', ['eth0', 'br0 10.0.0.1'], g);
    expect(new Set(b.map((l) => l.length)).size).toBe(1);
    expect(b[0]).toMatch(/^┌─ host ─*┐$/);
    expect(b.at(-1)).toMatch(/^└─+┘$/);
    const two = besides([b, b], 80);
    expect(two).toHaveLength(b.length);
    expect(besides([b, b], b[0]!.length + 3)).toHaveLength(2 * b.length);
  });

  it('sparkline, gauge and tree', () => {
    expect(sparkline([0, 50, 100], 100, g)).toBe('▁▅█');
    expect(sparkline([0, 50, 100], 100, ASCII_GLYPHS)).toBe('_=#');
    expect(gauge(50, 100, 10, g)).toBe('█████░░░░░');
    const t = tree([{ label: '/', children: [{ label: 'proc' }, { label: 'old', children: [{ label: 'x' }] }] }], g, 80).map((l) => l.text);
    expect(t).toEqual(['/', '├─ proc', '└─ old', '   └─ x']);
  });

  it('a legend packs into lines of the width; a picture never draws past it', () => {
    expect(legendLines(['aaaa', 'bbbb', 'cccc'], 12, g)).toEqual(['aaaa   bbbb', 'cccc']);
    const lines = pictureLines({ title: 'a title much longer than the width allows', lines: [{ text: 'x'.repeat(50) }], legend: ['y'.repeat(40)] }, 20, g);
    for (const l of lines) expect(l.text.length).toBeLessThanOrEqual(20);
  });
});

describe("lesson 2's sparkline", () => {
  const s = (percent: number, limited: boolean, checking = false): Sample => ({ percent, limited, checking, followed: 1, nrThrottled: limited ? 10 : 0 });
  it('squeezes a long history so that the share before the quota stays in sight', () => {
    const history = [...Array.from({ length: 100 }, () => s(100, false)), ...Array.from({ length: 300 }, () => s(20, true))];
    const cols = columns(history, 50);
    expect(cols.length).toBeLessThanOrEqual(50);
    expect(cols[0]!.percent).toBe(100);
    expect(cols.at(-1)!.percent).toBe(20);
    expect(cols.filter((c) => c.cameUnder)).toHaveLength(1);
  });

  it('marks the moment under the quota and the check, and says both shares', () => {
    const history = [...Array.from({ length: 10 }, () => s(100, false)), ...Array.from({ length: 10 }, () => s(20, true)), ...Array.from({ length: 5 }, () => s(20, true, true))];
    const p = drawCpuShare(history, { name: 'container', before: 100, after: 20, sampleMs: 100 }, { width: 80, glyphs: UNICODE_GLYPHS });
    const [spark, marks, summary] = p.lines.map((l) => l.text) as [string, string, string];
    expect(spark).toMatch(/│█{10}▂{15}  now 20 %$/);
    expect(marks).toMatch(/│ {10}\^ {9}─{5}$/);
    expect(summary).toMatch(/before the quota: 100 % +under the quota: 20 %/);
    expect(p.legend.join('\n')).toMatch(/\^ the loop came under the quota[\s\S]*─ the check was measuring/);
  });

  it('keys only the marks its line shows', () => {
    // The loop already in the group when first seen, and no check yet: neither mark.
    const p = drawCpuShare(
      Array.from({ length: 10 }, () => s(20, true)),
      { name: 'container', before: null, after: 20, sampleMs: 100 },
      { width: 80, glyphs: UNICODE_GLYPHS },
    );
    expect(p.lines[1]!.text).not.toMatch(/[\^─]/);
    expect(p.legend).toEqual(['█ = 100 % of one CPU']);
  });
});
