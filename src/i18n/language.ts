// Which language the workbook speaks: `--lang zh|en`, else what the learner chose before
// (kept with the progress), else the locale, as setlocale(3) reads it for messages:
// LC_ALL, then LC_MESSAGES, then LANG.
export const LANGUAGES = ['en', 'zh'] as const;
export type Language = (typeof LANGUAGES)[number];

export function isLanguage(s: unknown): s is Language {
  return typeof s === 'string' && (LANGUAGES as readonly string[]).includes(s);
}

/** Chinese written in traditional characters (Taiwan, Hong Kong, Macau, or named so). */
const TRADITIONAL = /^zh[_-](tw|hk|mo|hant)/i;

export interface LanguageChoice {
  lang: Language;
  /** Where it came from. */
  from: 'flag' | 'saved' | 'locale';
  /** Said once to the learner: traditional Chinese is shown in simplified characters. */
  fallback?: boolean;
  /** Said once: the locale is Chinese, but its character set is not UTF-8 (the workbook
   * writes UTF-8 only), so English is shown. */
  notUtf8?: boolean;
}

/** Whether the locale's character set is UTF-8, as C's setlocale would decide it: the first
 * of LC_ALL, LC_CTYPE and LANG that is set names the locale; none set is the C locale. */
export function localeIsUtf8(env: NodeJS.ProcessEnv): boolean {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(locale);
}

/** The locale that names the language of messages, or '' (C). */
export function messagesLocale(env: NodeJS.ProcessEnv): string {
  return env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
}

export function languageOfLocale(locale: string): { lang: Language; fallback: boolean } {
  if (/^zh([_.@-]|$)/i.test(locale)) return { lang: 'zh', fallback: TRADITIONAL.test(locale) };
  return { lang: 'en', fallback: false };
}

/** Pure: the flag (already checked), the saved choice, the environment. */
export function chooseLanguage(opts: { flag?: Language; saved?: Language; env: NodeJS.ProcessEnv }): LanguageChoice {
  if (opts.flag) return { lang: opts.flag, from: 'flag' };
  if (opts.saved) return { lang: opts.saved, from: 'saved' };
  const { lang, fallback } = languageOfLocale(messagesLocale(opts.env));
  // zh_CN alone is GB2312 and zh_CN.GB18030 is GB18030: Chinese in UTF-8 would be garbled.
  if (lang !== 'en' && !localeIsUtf8(opts.env)) return { lang: 'en', from: 'locale', notUtf8: true };
  return fallback ? { lang, from: 'locale', fallback } : { lang, from: 'locale' };
}
