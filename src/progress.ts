// Long work says how far it is, while it runs. Whoever shows the work (the TUI's store,
// the CLI) opens a sink around it; the code doing the work writes to whatever sink is open.
// Two kinds of news go through it:
//   lines     what a step's commands print, a line at a time as it comes (lessons/show.ts);
//   progress  how far a long piece of work is: an image import's archive and layers, the
//             build of the default root filesystem (core/image-import.ts, core/rootfs.ts).
// AsyncLocalStorage carries the sink through every await of that work and of nothing else,
// so no lesson module and no core function passes a callback along for it.
import { AsyncLocalStorage } from 'node:async_hooks';

/** How far an image import or a rootfs build is. `done` marks the end of a phase (the
 * archive, one layer, the whole build): plain output prints a line there. */
// biome-ignore format: one kind a line
export type WorkProgress =
  /** A tarball given to import is unpacked into a temporary directory first. */
  | { kind: 'archive'; bytes: number; totalBytes: number; files: number; done: boolean }
  /** Layer `layer` of `layers` (from 1): bytes of its blob read, entries of its tar made. */
  | { kind: 'layer'; layer: number; layers: number; diffId: string; bytes: number; totalBytes: number; files: number; done: boolean; reused: boolean }
  /** The default rootfs: `copied` of `total` programs (with their libraries), the last one `tool`. */
  | { kind: 'rootfs'; copied: number; total: number; tool: string; done: boolean };

export interface WorkSink {
  /** One line a command printed, without its newline. */
  line?(text: string): void;
  progress?(p: WorkProgress): void;
}

const current = new AsyncLocalStorage<WorkSink>();

/** Run `fn` with `sink` receiving the news of its work (and only of its work). */
export function withWorkSink<T>(sink: WorkSink, fn: () => Promise<T>): Promise<T> {
  return current.run(sink, fn);
}

/** A line of output for the open sink, if one is open. */
export function workLine(text: string): void {
  current.getStore()?.line?.(text);
}

/** Progress for the open sink, if one is open. */
export function workProgress(p: WorkProgress): void {
  current.getStore()?.progress?.(p);
}

/** Is a sink open for lines? (Output nobody reads is not split into lines.) */
export function wantsLines(): boolean {
  return !!current.getStore()?.line;
}

/** Chunks of a stream in, whole lines out (the last one when the stream ends). */
export class LineSplitter {
  private rest = '';
  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: string): void {
    const parts = (this.rest + chunk).split('\n');
    this.rest = parts.pop() ?? '';
    for (const p of parts) this.emit(p.replace(/\r$/, ''));
  }

  end(): void {
    if (this.rest) this.emit(this.rest.replace(/\r$/, ''));
    this.rest = '';
  }
}
