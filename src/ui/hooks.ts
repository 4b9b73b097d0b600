import { useEffect, useState, useSyncExternalStore } from 'react';
import { useStdout } from 'ink';
import type { WorkbookStore, UiState } from './store.js';
import { terminalSize as sizeOf } from './frame.js';

export function useStore(store: WorkbookStore): UiState {
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

/** The terminal's size, updated when it is resized. */
export function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => sizeOf(stdout));
  useEffect(() => {
    const on = () => setSize(sizeOf(stdout));
    stdout.on('resize', on);
    return () => {
      stdout.off('resize', on);
    };
  }, [stdout]);
  return size;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function useSpinner(active: boolean): string {
  const [i, setI] = useState(0);
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setI((x) => (x + 1) % FRAMES.length), 100);
    return () => clearInterval(t);
  }, [active]);
  return FRAMES[i]!; // i counts modulo FRAMES.length
}
