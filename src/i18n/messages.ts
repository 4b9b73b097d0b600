// The workbook's words in the learner's language. English is the source: a message is
// written in English where it is used, and the English is its key in the other languages'
// tables (src/i18n/zh/). Two ways to mark one:
//   t`${path} already exists`  formats now, in the language in use: for messages made while
//                              the workbook runs (check reasons, hints, errors);
//   tr(title)                  translates a string kept in English until it is shown: the
//                              lesson, step and check titles a lesson module declares when
//                              it is loaded, before the language is known.
// msg('...') marks such a kept string for the catalog test where it is defined.
// A message's values are its {0}, {1}... in the tables, so a translation may order them
// as its grammar wants. Commands and paths are values or stay as written: never translated.
import type { Language } from './language.js';

export type Catalog = Readonly<Record<string, string>>;

let current: Language = 'en';
let table: Catalog | null = null;

/** The key of a tagged template: its text with each value as {0}, {1}, ... */
export function templateKey(strings: readonly string[]): string {
  return strings.reduce((key, s, i) => (i === 0 ? s : `${key}{${i - 1}}${s}`), '');
}

/** A key's translation with its values put in; the English itself when there is none. */
export function format(key: string, values: readonly unknown[] = []): string {
  const text = table?.[key] ?? key;
  return values.length ? text.replace(/\{(\d+)\}/g, (m, n) => (Number(n) < values.length ? String(values[Number(n)]) : m)) : text;
}

/** A message in the language in use (see above). */
export function t(strings: TemplateStringsArray, ...values: unknown[]): string {
  return format(templateKey(strings), values);
}

/** A string kept in English until shown, in the language in use. */
export function tr(english: string): string {
  return table?.[english] ?? english;
}

/** Marks a string that is translated where it is shown (tr): the catalog test collects it. */
export function msg<S extends string>(english: S): S {
  return english;
}

/** A label and the space after it: "hint: ", but "提示：" (a full-width colon holds its own
 * space). */
export function label(text: string): string {
  return /[\u3000-\u303f\uff00-\uffef]$/u.test(text) ? text : `${text} `;
}

/** "title: what was seen", as a check result is shown. */
export function titled(title: string, text: string): string {
  return t`${title}: ${text}`;
}

/** The language in use. */
export function language(): Language {
  return current;
}

/** Use a language from now on: its table is loaded only when it is not English. */
export async function setLanguage(lang: Language): Promise<void> {
  table = lang === 'zh' ? (await import('./zh/index.js')).ZH : null;
  current = lang;
}
