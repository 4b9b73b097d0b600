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
