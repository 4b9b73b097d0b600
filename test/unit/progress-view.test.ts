// How long work is shown on a terminal (src/progress-view.ts): a bar redrawn in place on a TTY,
// plain lines without one, the live tail of a step's output erased for its whole output, and
// the status line of the TUI past a second. The clock is the test's: nothing here waits.
import { describe, it, expect } from 'vitest';
import { LiveTail, ProgressView, bar, formatBytes, plainLine, progressText } from '../../src/progress-view.js';
import { LineSplitter, type WorkProgress } from '../../src/progress.js';
import { busyLine } from '../../src/ui/Footer.js';

const layer = (bytes: number, done = false, files = 10): WorkProgress => ({ kind: 'layer', layer: 2, layers: 3, diffId: 'sha256:x', bytes, totalBytes: 4_500_000_000, files, done, reused: false });

function terminal(isTTY: boolean) {
  const written: string[] = [];
  return { written, term: { isTTY, columns: 80, rows: 24, write: (s: string) => void written.push(s) } };
}

describe('progress in words', () => {
  it('bytes as people read them, and the text of each kind', () => {
    expect([0, 999, 1000, 12_345, 340_000_000, 4_500_000_000].map(formatBytes)).toEqual(['0 B', '999 B', '1.0 kB', '12.3 kB', '340 MB', '4.5 GB']);
    expect(progressText(layer(1_200_000_000, false, 34_512))).toBe('layer 2 of 3: 1.2 GB of 4.5 GB, 34,512 files');
    expect(progressText(layer(4_500_000_000, true, 126_000))).toBe('layer 2 of 3: unpacked 4.5 GB, 126,000 files');
    expect(progressText({ kind: 'rootfs', copied: 12, total: 60, tool: 'ps', done: false })).toBe('building the root filesystem: 12 of 60 programs copied (ps)');
    expect(bar(0.5, 12)).toBe('[#####-----]');
  });
});

describe('ProgressView', () => {
  it('on a TTY: one line redrawn with \\r and a bar, at most every 100 ms; a phase that ends keeps its line', () => {
    const { written, term } = terminal(true);
    let now = 1000;
    const view = new ProgressView(term, () => now);
    view.update(layer(1_000_000_000));
    now += 50;
    view.update(layer(1_100_000_000)); // too soon: not drawn
    now += 60;
    view.update(layer(2_250_000_000));
    view.update(layer(4_500_000_000, true));
    view.end();
    expect(written).toHaveLength(3);
    expect(written[0]).toMatch(/^\r\x1b\[K\[#+-+\] layer 2 of 3: 1\.0 GB of 4\.5 GB/);
    expect(written[1]).toMatch(/^\r\x1b\[K\[#+-+\] layer 2 of 3: 2\.3 GB of 4\.5 GB/);
    expect(written[2]).toMatch(/^\r\x1b\[K\[#+\] layer 2 of 3: unpacked 4\.5 GB, 10 files\n$/);
  });

  it('without a TTY: plain lines, one at the end of a phase and one every 5 s of a long one', () => {
    const { written, term } = terminal(false);
    let now = 1000;
    const view = new ProgressView(term, () => now);
    for (let s = 0; s <= 12; s++) {
      view.update(layer(s * 100_000_000));
      now += 1000;
    }
    view.update(layer(4_500_000_000, true));
    view.update({ kind: 'layer', layer: 3, layers: 3, diffId: 'sha256:y', bytes: 10, totalBytes: 10, files: 1, done: true, reused: true });
    view.end();
    expect(written).toEqual(['layer 2 of 3: 500 MB of 4.5 GB, 10 files\n', 'layer 2 of 3: 1.0 GB of 4.5 GB, 10 files\n', 'layer 2 of 3: unpacked 4.5 GB, 10 files\n', 'layer 3 of 3: already in the store\n']);
    expect(written.join('')).not.toMatch(/\r|\x1b/);
  });
});

describe('LiveTail', () => {
  it('draws the last lines in place, erases exactly the rows it drew, and never a control character', async () => {
    const { written, term } = terminal(true);
    const tail = new LiveTail(term, '  ', 3);
    for (const l of ['one', 'two\ttab', '\x1b[31mred\x1b[0m', 'four']) tail.line(l);
    await new Promise((r) => setTimeout(r, 80));
    expect(written).toEqual(['  two    tab\n  red\n  four\n']);
    tail.progress({ kind: 'rootfs', copied: 1, total: 2, tool: 'sh', done: false });
    await new Promise((r) => setTimeout(r, 80));
    // Up three rows, erase below, and the last three rows again.
    expect(written[1]).toBe('\x1b[3F\x1b[J');
    expect(written[2]).toMatch(/^ {2}red\n {2}four\n {2}\[#+-+\] building the root filesystem: 1 of 2/);
    tail.clear();
    expect(written[3]).toBe('\x1b[3F\x1b[J');
    expect(plainLine('a\x07b\x1b[2Kc')).toBe('abc');
  });
});

describe('LineSplitter', () => {
  it('chunks in, whole lines out, the last one at the end', () => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l));
    for (const c of ['fir', 'st\nsec', 'ond\r\n', '\nlast']) s.push(c);
    expect(out).toEqual(['first', 'second', '']);
    s.end();
    expect(out).toEqual(['first', 'second', '', 'last']);
  });
});

describe("the TUI's status line while work runs", () => {
  it('under a second: what runs; past it: the seconds and the last news', () => {
    expect(busyLine('step 2: build', 400, 'copying')).toBe('step 2: build...');
    expect(busyLine('step 2: build', 3400, null)).toBe('step 2: build... 3 s');
    expect(busyLine('step 2: build', 3400, 'layer 1 of 2: 1.0 MB of 2.0 MB, 5 files')).toBe('step 2: build · 3 s · layer 1 of 2: 1.0 MB of 2.0 MB, 5 files');
  });
});
