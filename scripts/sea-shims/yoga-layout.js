// yoga-layout (ink's layout engine) for the one-file binary, loaded without top-level await.
// The binary's script is CommonJS (a Node 20 single executable runs no ES module), which
// has no top-level await, and yoga-layout's own entry awaits its WebAssembly. Emscripten
// lets the embedder instantiate the module (instantiateWasm); done synchronously here, the
// whole start-up runs in the factory call, so the module object is ready when it returns.
// The bytes are the ones yoga-layout carries as a data: URL (scripts/sea.mjs reads them out).
// @ts-expect-error a module of scripts/sea.mjs's build only
import { YOGA_WASM_BASE64 } from 'container-lessons:yoga-wasm';
// @ts-expect-error untyped, from Emscripten
import loadYogaImpl from '../../node_modules/yoga-layout/dist/binaries/yoga-wasm-base64-esm.js';
import wrapAssembly from '../../node_modules/yoga-layout/dist/src/wrapAssembly.js';

export * from '../../node_modules/yoga-layout/dist/src/generated/YGEnums.js';

/** @type {Record<string, unknown>} */
const assembly = {
  /** @param {WebAssembly.Imports} imports @param {(instance: WebAssembly.Instance) => void} done */
  instantiateWasm(imports, done) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(YOGA_WASM_BASE64, 'base64')), imports);
    done(instance);
    return instance.exports;
  },
};
void loadYogaImpl(assembly);
if (!assembly.calledRun) throw new Error('yoga-layout did not start synchronously');
export default wrapAssembly(assembly);
