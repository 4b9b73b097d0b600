// The one-file binary's main script (a Node single executable application runs one
// CommonJS script). The binary is node, the CLI and nsinit at once: started with HELPER_ARG
// first, it is a container's helper, as `node nsinit.js` is for the package (container.ts
// starts it so); otherwise it is the `container-lessons` command.
//
// Both are built as bundle/ is, in parts that are loaded when first needed (scripts/sea.mjs
// puts each among the binary's assets): a helper, started for every container, compiles
// nsinit's few modules, and `list` does not compile the TUI. One script of everything
// would cost every start tens of milliseconds of compiling.
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { HELPER_ARG, SEA_ASSETS, seaAsset } from './sea.js';

const nodeRequire = createRequire(process.execPath);
const loaded = new Map<string, { exports: unknown }>();

/** Run a part (a CommonJS script among the assets) once and return its exports. Its
 * require gives the other parts (`./<file>`) and Node's own modules. */
function load(file: string): unknown {
  const known = loaded.get(file);
  if (known) return known.exports;
  const module = { exports: {} };
  loaded.set(file, module);
  const code = new TextDecoder().decode(seaAsset(SEA_ASSETS.partPrefix + file));
  // __filename is the binary, as for the main script (path.join makes stacks name the part).
  const wrapper = vm.compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: path.join(process.execPath, file) });
  const partRequire = (id: string): unknown => (id.startsWith('./') ? load(id.slice(2)) : nodeRequire(id));
  wrapper(module.exports, partRequire, module, process.execPath, path.dirname(process.execPath));
  return module.exports;
}

// As bin/container-lessons.js: the workbook's files readable by a container's users,
// whatever the learner's umask.
process.umask(0o022);
load(process.argv[2] === HELPER_ARG ? SEA_ASSETS.helper : SEA_ASSETS.cli);
