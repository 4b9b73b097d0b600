#!/usr/bin/env node
// The capstone's skeleton, made from the bash reference (capstone/mydocker.sh), so that the
// two cannot drift apart: every piece of the reference sits between
//
//   # --- BEGIN <piece> (<lessons>) ---
//   ## what the piece must do, and where the kernel shows it done
//   ...the reference's code...
//   # --- END <piece> ---
//
// and an open piece keeps its BEGIN line, its `##` lines and its END line, with the code
// between replaced by a TODO line and a call of the script's own `todo` function (which stops
// the runtime for root and namespaces, and skips the others with a note: see the reference).
// A piece may have more than one block (root: the directories on the host, the mount in the
// container); each block of an open piece is opened. Pieces marked `(given)` (args) are
// never opened.
//
// The C and Rust references (capstone/c/mydocker.c, capstone/rust/mydocker.rs) are marked the
// same way with `//` for `#` (`// --- BEGIN`, `// ##`), and an open piece there becomes a call
// `todo("<piece>", "<lessons>");` of their own todo(): each piece is the whole body of a
// function of its own, so the skeleton still compiles.
//
//   node scripts/capstone-skeleton.mjs                 write capstone/skeleton/mydocker.{sh,c,rs}
//   node scripts/capstone-skeleton.mjs --check         exit 1 if one is not up to date
//   node scripts/capstone-skeleton.mjs --open network --out FILE [--reference REF]
//                                                      a partly done runtime: the reference
//                                                      (bash, or REF) with only these pieces
//                                                      open (tests)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REFERENCE = path.join(REPO, 'capstone', 'mydocker.sh');
export const SKELETON = path.join(REPO, 'capstone', 'skeleton', 'mydocker.sh');

/** How a language writes the markers, the TODO and the call of todo; for a compiled one, its
 * reference and build command, which its skeleton's banner names.
 * @typedef {{ comment: string, todo: (piece: string, lessons: string) => string, reference?: string, build?: string }} Style */
/** @type {Style} */
export const BASH = { comment: '#', todo: (piece, lessons) => `todo ${piece} '${lessons}'` };
/** @type {(piece: string, lessons: string) => string} */
const callTodo = (piece, lessons) => `todo("${piece}", "${lessons}");`;
/** @type {Style} */
export const C = { comment: '//', todo: callTodo, reference: 'capstone/c/mydocker.c', build: 'cc -O2 -Wall -o mydocker mydocker.c' };
/** @type {Style} */
export const RUST = { comment: '//', todo: callTodo, reference: 'capstone/rust/mydocker.rs', build: 'rustc -O -o mydocker mydocker.rs' };
/** The style of a reference, by its name's ending. @param {string} file @returns {Style} */
export const styleOf = (file) => (file.endsWith('.c') ? C : file.endsWith('.rs') ? RUST : BASH);

/** Each reference and the skeleton made from it. */
export const REFERENCES = [
  { reference: REFERENCE, skeleton: SKELETON },
  { reference: path.join(REPO, 'capstone', 'c', 'mydocker.c'), skeleton: path.join(REPO, 'capstone', 'skeleton', 'mydocker.c') },
  { reference: path.join(REPO, 'capstone', 'rust', 'mydocker.rs'), skeleton: path.join(REPO, 'capstone', 'skeleton', 'mydocker.rs') },
];

const escapeRe = (/** @type {string} */ s) => s.replace(/[/#]/g, '\\$&');
/** The marker patterns of a style. @param {Style} style */
function markers(style) {
  const c = escapeRe(style.comment);
  return {
    begin: new RegExp(`^(\\s*)${c} --- BEGIN ([a-z-]+) \\(([^)]+)\\) ---$`),
    end: new RegExp(`^\\s*${c} --- END ([a-z-]+) ---$`),
    any: new RegExp(`^\\s*${c} --- (BEGIN|END)\\b`),
    doc: new RegExp(`^\\s*${style === BASH ? '##' : `${c} ##`}( |$)`),
  };
}

/** @typedef {{ piece: string, lessons: string, indent: string, begin: number, end: number }} Block */

/** The marked blocks of a script, in order; a marker out of place is an error.
 * @param {string} script @param {Style} [style] @returns {Block[]} */
export function blocksOf(script, style = BASH) {
  const { begin: BEGIN, end: END, any } = markers(style);
  const lines = script.split('\n');
  /** @type {Block[]} */ const blocks = [];
  /** @type {Omit<Block, 'end'> | null} */ let open = null;
  for (const [i, line] of lines.entries()) {
    const b = BEGIN.exec(line);
    const e = END.exec(line);
    if (b) {
      if (open) throw new Error(`line ${i + 1}: BEGIN ${b[2]} inside ${open.piece} (line ${open.begin + 1})`);
      open = { piece: /** @type {string} */ (b[2]), lessons: /** @type {string} */ (b[3]), indent: /** @type {string} */ (b[1]), begin: i };
    } else if (e) {
      if (!open || open.piece !== e[1]) throw new Error(`line ${i + 1}: END ${e[1]} without its BEGIN`);
      blocks.push({ ...open, end: i });
      open = null;
    } else if (any.test(line)) {
      throw new Error(`line ${i + 1}: not a marker of the form "${style.comment} --- BEGIN <piece> (<lessons>) ---": ${line.trim()}`);
    }
  }
  if (open) throw new Error(`BEGIN ${open.piece} (line ${open.begin + 1}) has no END`);
  return blocks;
}

/** The pieces of a script, in their order: those a skeleton leaves open, and the given ones.
 * @param {string} script @param {Style} [style] */
export function piecesOf(script, style = BASH) {
  const blocks = blocksOf(script, style);
  const names = [...new Set(blocks.map((b) => b.piece))];
  const given = names.filter((p) => blocks.some((b) => b.piece === p && b.lessons === 'given'));
  return { open: names.filter((p) => !given.includes(p)), given };
}

/** The script with the pieces named in `open` left as TODOs.
 * @param {string} script @param {string[]} open @param {Style} [style] */
export function openPieces(script, open, style = BASH) {
  const blocks = blocksOf(script, style);
  const { open: openable, given } = piecesOf(script, style);
  const { doc } = markers(style);
  for (const p of open) {
    if (given.includes(p)) throw new Error(`${p} is given: the skeleton never leaves it open`);
    if (!openable.includes(p)) throw new Error(`no piece named ${p} (the pieces: ${openable.join(', ')})`);
  }
  const lines = script.split('\n');
  /** @type {string[]} */ const out = [];
  let next = 0;
  for (const b of blocks) {
    if (!open.includes(b.piece)) continue;
    out.push(...lines.slice(next, b.begin + 1));
    // The piece's description: the `##` lines right after BEGIN.
    let i = b.begin + 1;
    while (i < b.end && doc.test(/** @type {string} */ (lines[i]))) out.push(/** @type {string} */ (lines[i++]));
    out.push(`${b.indent}${style.comment} TODO: write this (${b.lessons}); the lines above say what it must do.`);
    out.push(`${b.indent}${style.todo(b.piece, b.lessons)}`);
    next = b.end;
  }
  out.push(...lines.slice(next));
  return style === BASH ? addBanner(out.join('\n'), open) : addCompiledBanner(out.join('\n'), open, style);
}

/** The banner of a C or Rust skeleton, under its first line.
 * @param {string} source @param {string[]} open @param {Style} style */
function addCompiledBanner(source, open, style) {
  if (!open.length) return source;
  const nl = source.indexOf('\n');
  const text =
    `Generated from ${style.reference} by scripts/capstone-skeleton.mjs, with these pieces left for you to write: ${open.join(', ')}. ` +
    'Each says what it must do, which lesson teaches it and what shows it done in the kernel. ' +
    'Until it is written, root or namespaces stops mydocker (exit 125, "TODO: root ..."); ' +
    'any other piece is skipped with a note, and the container runs without it. ' +
    `Build it with \`${style.build}\`, then check your work with: sudo container-lessons check capstone --runtime ./mydocker`;
  const rule = `// ${'='.repeat(93)}`;
  const banner = ['//', rule, ...wrap(text, 93).map((l) => `// ${l}`), rule];
  return `${source.slice(0, nl + 1)}${banner.join('\n')}\n${source.slice(nl + 1)}`;
}

/** A note under the first line (#!) that says what this file is.
 * @param {string} script @param {string[]} open */
function addBanner(script, open) {
  if (!open.length) return script;
  const nl = script.indexOf('\n');
  const text =
    `Generated from capstone/mydocker.sh by scripts/capstone-skeleton.mjs, with these pieces left for you to write: ${open.join(', ')}. ` +
    'Each says what it must do, which lesson teaches it and what shows it done in the kernel. ' +
    'Until it is written, root or namespaces stops mydocker (exit 125, "TODO: root ..."); ' +
    'any other piece is skipped with a note, and the container runs without it. ' +
    'Check your work with: sudo container-lessons check capstone --runtime ./mydocker.sh';
  const rule = `# ${'='.repeat(94)}`;
  const banner = ['#', rule, ...wrap(text, 94).map((l) => `# ${l}`), rule, '# shellcheck disable=SC2034 # some variables are used only by the pieces left open', '#'];
  return `${script.slice(0, nl + 1)}${banner.join('\n')}\n${script.slice(nl + 1)}`;
}

/** Words of `text` in lines of at most `width` characters. @param {string} text @param {number} width */
function wrap(text, width) {
  /** @type {string[]} */ const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** The skeleton: every piece that is not given, open. @param {string} reference @param {Style} [style] */
export const skeletonOf = (reference, style = BASH) => openPieces(reference, piecesOf(reference, style).open, style);

/** Write a partly done runtime (or, with every piece open, a skeleton) to `file`, executable
 * (bash; C and Rust sources are not). @param {string} file @param {string[]} open @param {string} [reference]
 * @param {Style} [style] */
export function writeRuntime(file, open, reference = fs.readFileSync(REFERENCE, 'utf8'), style = BASH) {
  const mode = style === BASH ? 0o755 : 0o644;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, openPieces(reference, open, style), { mode });
  fs.chmodSync(file, mode);
}

function main() {
  const args = process.argv.slice(2);
  let check = false;
  /** @type {string[] | null} */ let open = null;
  /** @type {string | null} */ let out = null;
  let from = REFERENCE;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--check') check = true;
    else if (a === '--open') open = (args[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--out') out = path.resolve(args[++i] ?? '');
    else if (a === '--reference') from = path.resolve(args[++i] ?? '');
    else {
      console.error(`capstone-skeleton: unknown argument ${a}\nusage: node scripts/capstone-skeleton.mjs [--check] [--open PIECE,PIECE --out FILE [--reference REF]]`);
      process.exit(2);
    }
  }
  try {
    // A partly done runtime from one reference, or every reference's skeleton.
    const jobs = open || out ? [{ reference: from, skeleton: out ?? SKELETON }] : REFERENCES;
    for (const job of jobs) {
      const reference = fs.readFileSync(job.reference, 'utf8');
      const style = styleOf(job.reference);
      const pieces = open ?? piecesOf(reference, style).open;
      if (check) {
        const now = fs.existsSync(job.skeleton) ? fs.readFileSync(job.skeleton, 'utf8') : null;
        if (now !== openPieces(reference, pieces, style)) {
          console.error(`capstone-skeleton: ${path.relative(REPO, job.skeleton)} is not made from the reference: run node scripts/capstone-skeleton.mjs`);
          process.exit(1);
        }
        continue;
      }
      writeRuntime(job.skeleton, pieces, reference, style);
      console.log(`wrote ${path.relative(process.cwd(), job.skeleton) || job.skeleton}`);
    }
  } catch (err) {
    console.error(`capstone-skeleton: ${/** @type {Error} */ (err).message}`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
