// The workbook's side of a pty (core/pty.ts), as `docker exec -it` relays one: the real
// terminal in raw mode, every byte typed goes to the pty master, everything the master
// gives goes to the screen. The pty's own line discipline (set by the shell inside) does
// the echo, the line editing and Ctrl-C; the real terminal just passes bytes. Its window
// size follows the real terminal's.
//
// The relay ends when the program on the pty has gone: the master reads EIO (tty.ReadStream
// ends) once no process holds the slave open. A background job left running inside may
// still hold it, so the helper's exit ends the relay too, after a short grace for the
// output still in the master. On every way out the real terminal is given back as it was
// taken (raw mode off, stdin paused, no listener left) and the master is closed.
import fs from 'node:fs';
import tty from 'node:tty';
import type { Readable, Writable } from 'node:stream';
import { setWindowSize } from '../core/libc.js';

/** How long the output of an ended program may take to drain from the master before the
 * relay closes it anyway (only when something else still holds the slave open). */
const DRAIN_MS = 300;

export interface RelayTerminals {
  /** The real terminal's input (process.stdin). */
  input: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  /** The real terminal's output (process.stdout); its 'resize' events resize the pty. */
  output: Writable & { rows?: number; columns?: number; isTTY?: boolean };
}

/**
 * Relay between the real terminal and the pty master `master` until the program on the
 * pty is gone (`ended` settled and the master drained, or the master reached EOF). The
 * relay owns `master`: it is closed when this resolves.
 */
export function relayTerminal(master: number, ended: Promise<unknown>, io: RelayTerminals = { input: process.stdin, output: process.stdout }): Promise<void> {
  const { input, output } = io;
  // A tty.ReadStream is a libuv tty handle: it reads, and writes too (queued by libuv when
  // the master's buffer is full, so no EAGAIN reaches us). Non-blocking; it closes the fd.
  let pty: tty.ReadStream;
  try {
    pty = new tty.ReadStream(master);
  } catch (err) {
    fs.closeSync(master);
    return Promise.reject(err);
  }
  let open = true;
  const toPty = (d: Buffer) => {
    if (open) pty.write(d);
  };
  const toScreen = (d: Buffer) => output.write(d);
  const resize = () => {
    if (!open || !output.rows || !output.columns) return;
    try {
      setWindowSize(master, output.rows, output.columns);
    } catch {
      /* the master is going away */
    }
  };
  return new Promise<void>((resolve) => {
    let drain: NodeJS.Timeout | undefined;
    const finish = () => {
      if (!open) return;
      open = false;
      clearTimeout(drain);
      input.off('data', toPty);
      output.off('resize', resize);
      try {
        if (input.isTTY) input.setRawMode?.(false);
      } catch {
        /* the terminal went away */
      }
      input.pause();
      pty.off('data', toScreen);
      if (pty.destroyed && pty.closed) resolve();
      else {
        pty.once('close', () => resolve());
        pty.destroy();
      }
    };
    pty.on('data', toScreen);
    // EIO on the master (every slave fd closed) ends the stream; any other error too.
    pty.on('end', finish);
    pty.on('error', finish);
    pty.on('close', finish);
    const afterEnd = () => {
      if (open) drain = setTimeout(finish, DRAIN_MS);
    };
    ended.then(afterEnd, afterEnd);
    output.on('resize', resize);
    resize();
    if (input.isTTY) input.setRawMode?.(true);
    input.on('data', toPty);
    input.resume();
  });
}
