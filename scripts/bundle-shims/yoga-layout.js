// yoga-layout for the bundle: the same module (ink's layout engine, WebAssembly inlined as
// a data: URL), loaded without fetch. Emscripten fetches the data: URL when fetch exists,
// and in Node 20 the first touch of globalThis.fetch loads undici, a visible part of the
// TUI's first frame (npm run bench reports it). With fetch hidden while yoga loads, emscripten decodes the data itself.
import { loadYoga } from 'yoga-layout/load';

export * from 'yoga-layout/load';

const fetchProperty = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
let Yoga;
try {
  if (fetchProperty?.configurable) Object.defineProperty(globalThis, 'fetch', { value: undefined, configurable: true, writable: true });
  Yoga = await loadYoga();
} finally {
  if (fetchProperty?.configurable) Object.defineProperty(globalThis, 'fetch', fetchProperty);
}
export default Yoga;
