// cli-highlight for the bundle: render.ts draws code blocks itself (a gutter, no syntax
// colours), so marked-terminal never calls the highlighter. The real one brings
// highlight.js and parse5, two thirds of the markdown code the workbook would parse.
/** @param {string} code */
export function highlight(code) {
  return code;
}
