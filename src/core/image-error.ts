// How an image import fails: what was wrong with the image, and what to do about it.
import { HintedError } from './errors.js';
import { msg, t, tr } from '../i18n/messages.js';

export class ImageError extends HintedError {
  /** Always given: the constructor requires it (a type-only narrowing of HintedError's). */
  declare readonly hint: string;
  constructor(message: string, hint: string) {
    super(message, hint);
  }
}

export const HINT_RESAVE = msg('re-export the image and import the new file: docker save NAME -o NAME.tar (or skopeo copy docker://NAME oci-archive:NAME.tar)');
/** For a layer that tries what no honest layer does (leave its directory, make a device). */
export const HINT_UNSAFE = msg('the image was refused and nothing of it was kept. Take the image from a source you trust; if you packed it yourself, leave that entry out');
export const HINT_ZSTD = msg(
  'run the workbook with Node 22.15 or newer (README, "What the machine needs"), or re-save the image with gzip or plain layers: docker save NAME -o NAME.tar, or skopeo copy --dest-compress-format gzip ... oci:DIR',
);

export function digestMismatch(file: string, expected: string, got: string): ImageError {
  return new ImageError(t`${file}: digest mismatch: expected ${expected}, got ${got} (the file is damaged or was changed)`, tr(HINT_RESAVE));
}
