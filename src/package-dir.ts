// Where the package's own files are (lessons/, capstone/, bin/): one directory up from this
// module, whether it runs from src/ (tests), dist/ (built) or bundle/ (packed), because it
// is a top-level module in each.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The workbook's own command line: node and its bin script, to start `container-lessons`
 * again (the capstone runs its `run` verb as a runtime). */
export const SELF_ARGV = [process.execPath, path.join(PACKAGE_DIR, 'bin', 'container-lessons.js')];
