// The bundle's source maps keep the project's own positions only.
//
// A map is for stacks under CONTAINER_LESSONS_DEBUG (bin/container-lessons.js), which are
// about the workbook's code; the positions inside ink, React or marked were half of the maps'
// weight in the package. Their segments become unmapped ones (a generated column alone), so a
// frame there stays a bundle/ position instead of borrowing the position before it. The
// `sources` list stays whole: it still says which files each chunk holds.

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));

/** @param {string} segment @returns {number[]} */
function decode(segment) {
  const values = [];
  let value = 0;
  let shift = 0;
  for (const c of segment) {
    const digit = DIGIT.get(c);
    if (digit === undefined) throw new Error(`source map: bad VLQ digit ${c}`);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

/** @param {number} n */
function encode(n) {
  let vlq = n < 0 ? (-n << 1) | 1 : n << 1;
  let out = '';
  do {
    const digit = vlq & 31;
    vlq >>>= 5;
    out += BASE64[vlq ? digit | 32 : digit];
  } while (vlq);
  return out;
}

/**
 * The map with every segment whose source fails `keep` made unmapped, and the names only
 * those segments used dropped.
 * @param {{ mappings: string, sources: string[], names?: string[] }} map
 * @param {(source: string) => boolean} keep
 */
export function keepPositions(map, keep) {
  // Decoded to absolute values (the format stores each field as a change from the one before).
  const lines = [];
  const at = [0, 0, 0, 0];
  for (const line of map.mappings.split(';')) {
    const segments = [];
    let column = 0;
    for (const text of line ? line.split(',') : []) {
      const fields = decode(text);
      column += fields[0] ?? 0;
      if (fields.length < 4) {
        segments.push([column]);
        continue;
      }
      for (let i = 1; i < fields.length; i++) at[i - 1] = (at[i - 1] ?? 0) + (fields[i] ?? 0);
      segments.push(fields.length === 5 ? [column, at[0], at[1], at[2], at[3]] : [column, at[0], at[1], at[2]]);
    }
    lines.push(segments);
  }
  const names = map.names ?? [];
  /** @type {Map<number, number>} */
  const nameIndex = new Map();
  const previous = [0, 0, 0, 0];
  const mappings = lines.map((segments) => {
    let column = 0;
    const out = [];
    let unmapped = true; // a run of dropped segments needs one unmapped segment, at its start
    for (const s of segments) {
      const kept = s.length > 1 && keep(map.sources[/** @type {number} */ (s[1])] ?? '');
      if (!kept && unmapped && out.length) continue;
      let text = encode(/** @type {number} */ (s[0]) - column);
      column = /** @type {number} */ (s[0]);
      if (kept) {
        const fields = s.slice(1, 4).map((v) => /** @type {number} */ (v));
        if (s.length === 5) {
          const name = /** @type {number} */ (s[4]);
          if (!nameIndex.has(name)) nameIndex.set(name, nameIndex.size);
          fields.push(/** @type {number} */ (nameIndex.get(name)));
        }
        text += fields.map((v, i) => encode(v - (previous[i] ?? 0))).join('');
        for (const [i, v] of fields.entries()) previous[i] = v;
      }
      unmapped = !kept;
      out.push(text);
    }
    return out.join(',');
  });
  // Node's reader (node:module SourceMap, which maps the stacks) reads an unmapped segment at
  // the very end of the mappings as one more position in the last source: a line end after
  // it keeps it unmapped.
  const last = mappings.at(-1) ?? '';
  const endsUnmapped = last !== '' && decode(last.slice(last.lastIndexOf(',') + 1)).length === 1;
  return { ...map, mappings: mappings.join(';') + (endsUnmapped ? ';' : ''), names: [...nameIndex.keys()].map((i) => names[i] ?? '') };
}
