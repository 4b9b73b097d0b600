// The command part of the one-file binary (scripts/sea.mjs packs it with everything it
// imports into one CommonJS script, an asset that src/sea-main.ts runs): what
// bin/container-lessons.js is for the package, less its checks of the Node version and
// the platform, as the binary carries its own Node and is a Linux program.
import { HintedError } from './core/errors.js';
import { label, t } from './i18n/messages.js';

/** An error while the workbook loads (the native module could not be written out, say),
 * said as the CLI says its errors: the message and what to do, with no stack. */
function failedToLoad(err: unknown): never {
  if (err instanceof HintedError) {
    process.stderr.write(`container-lessons: ${err.message}\n${err.hint ? `${label(t`hint:`)}${err.hint}\n` : ''}`);
    process.exit(3);
  }
  throw err;
}

// Imported, not loaded with this module: an error while the workbook's modules load (koffi's
// among them) is then a rejection that failedToLoad sees.
import('./cli.js').then((cli) => cli.run(), failedToLoad);
