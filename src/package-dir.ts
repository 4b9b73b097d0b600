// Where the package's own files are (lessons/, capstone/, bin/): one directory up from this
// module, whether it runs from src/ (tests), dist/ (built) or bundle/ (packed), because it
// is a top-level module in each. The one-file binary has no such directory: when this module
// is first loaded it writes the files it carries into the learner's lab (src/sea-files.ts),
// where the paths the workbook shows stay good after the run.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IN_SEA } from './sea.js';
import { unpackPackageFiles } from './sea-files.js';

export const PACKAGE_DIR = IN_SEA ? unpackPackageFiles() : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The workbook's own command line, to start `container-lessons` again (the capstone runs
 * its `run` verb as a runtime): node and its bin script, or the one-file binary itself. */
export const SELF_ARGV = IN_SEA ? [process.execPath] : [process.execPath, path.join(PACKAGE_DIR, 'bin', 'container-lessons.js')];
