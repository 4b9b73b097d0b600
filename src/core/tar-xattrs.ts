// The extended attributes and exact mtimes of a layer's entries, read from the tar's PAX
// headers as the bytes go by on their way to node-tar.
//
// node-tar keeps only the PAX records it knows (path, mtime, ...): it drops
// SCHILY.xattr.<name> (how GNU tar, Go's archive/tar and so Docker and umoci write an xattr),
// and it would cut a value at its first NUL, which a binary value such as
// security.capability's has; and it keeps a PAX mtime only to the millisecond (a JavaScript
// Date), where the record has nanoseconds. So this pass reads the headers itself, byte-exact,
// and hands both over by the entry's position among the entries node-tar shows its filter.
//
// It reads the stream after tar-sparse.ts has taken the sparse files out of it.
export const BLOCK = 512;
/** Types node-tar shows its filter (read-entry.ts: the ones it neither treats as meta nor ignores). */
export const ENTRY_TYPES = new Set(['0', '\0', '1', '2', '3', '4', '5', '6', '7', 'D']);
/** Meta headers: they describe the next entry (x, X: PAX; g: PAX for all; K, L, N: GNU long names). */
const META_TYPES = new Set(['x', 'X', 'g', 'K', 'L', 'N']);

export type Xattrs = Map<string, Buffer>;
/** A time as a PAX record gives it: seconds and nanoseconds. */
export interface ExactTime {
  sec: bigint;
  nsec: number;
}

/** A PAX time ("1577934245.678901234"); null for one this does not read exactly (negative). */
export function parsePaxTime(v: string): ExactTime | null {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(v.trim());
  if (!m) return null;
  return { sec: BigInt(m[1]!), nsec: Number((m[2] ?? '').slice(0, 9).padEnd(9, '0')) };
}

/** A PAX record: its key, and its value as bytes. */
export type PaxRecord = [string, Buffer];

/** A PAX extended header's records, the last of a key winning. */
export function parsePaxRecords(data: Buffer): Map<string, Buffer> {
  return new Map(paxRecordList(data));
}

/** A PAX extended header's records ("<len> <key>=<value>\n"), in order, values as bytes
 * (a key may come more than once: GNU sparse 0.0 gives one offset and size per segment). */
export function paxRecordList(data: Buffer): PaxRecord[] {
  const out: PaxRecord[] = [];
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number(data.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length) break; // damaged: node-tar's own parse says so
    const record = data.subarray(space + 1, pos + len - 1); // without the closing "\n"
    const eq = record.indexOf(0x3d);
    if (eq > 0) out.push([record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1))]);
    pos += len;
  }
  return out;
}

/** A header's size field: octal digits, or base-256 when its first byte has the high bit. */
export function sizeOf(header: Buffer): number {
  const field = header.subarray(124, 136);
  if (field[0]! & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ].*$/s, '')
    .trim();
  return text ? Number.parseInt(text, 8) : 0;
}

/** Reads a tar stream's headers, chunk by chunk as the stream goes to node-tar, noting each
 * entry's xattrs and exact mtime. */
export class TarXattrScanner {
  /** Each entry's xattrs and exact mtime, by its position among the entries (meta headers
   * not counted); only entries that have either, until take() hands them on. */
  private byEntry = new Map<number, { xattrs: Xattrs; mtime: ExactTime | null }>();
  private entries = 0;
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Bytes of the current entry's data (and padding) still to pass. */
  private skip = 0;
  /** A PAX header's data being gathered, and how much of it is still to come. */
  private pax: { chunks: Buffer[]; left: number; global: boolean } | null = null;
  /** What the last PAX header said of the next entry. */
  private next: Map<string, Buffer> | null = null;

  /** What the tar says of entry `index` beyond node-tar's reading, once: forgotten here, so
   * that memory does not grow with the number of entries. */
  take(index: number): { xattrs: Xattrs; mtime: ExactTime | null } | undefined {
    const said = this.byEntry.get(index);
    this.byEntry.delete(index);
    return said;
  }

  /** Read the next chunk of the tar (before node-tar is given it). */
  scan(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - pos);
        if (this.pax && this.pax.left > 0) {
          const take = Math.min(n, this.pax.left);
          this.pax.chunks.push(Buffer.from(chunk.subarray(pos, pos + take)));
          this.pax.left -= take;
        }
        pos += n;
        this.skip -= n;
        if (this.skip === 0 && this.pax) this.endPax();
        continue;
      }
      const n = Math.min(BLOCK - this.headerFill, chunk.length - pos);
      chunk.copy(this.header, this.headerFill, pos, pos + n);
      this.headerFill += n;
      pos += n;
      if (this.headerFill < BLOCK) break;
      this.headerFill = 0;
      this.onHeader(this.header);
    }
  }

  private onHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) return; // the end of the archive (two zero blocks)
    const type = String.fromCharCode(h[156]!);
    const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
    if (META_TYPES.has(type)) {
      this.skip = padded(sizeOf(h));
      if (type === 'x' || type === 'X' || type === 'g') {
        this.pax = { chunks: [], left: sizeOf(h), global: type === 'g' };
        if (this.skip === 0) this.endPax();
      }
      return;
    }
    const said = this.next;
    this.next = null;
    // A file of 8 GiB or more has its size in a PAX record.
    const paxSize = said?.get('size');
    this.skip = padded(paxSize ? Number(paxSize.toString('latin1')) : sizeOf(h));
    if (!ENTRY_TYPES.has(type)) return;
    const xattrs: Xattrs = new Map();
    for (const [k, v] of said ?? []) if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);
    const mtime = said?.has('mtime') ? parsePaxTime(said.get('mtime')!.toString('latin1')) : null;
    if (xattrs.size || mtime) this.byEntry.set(this.entries, { xattrs, mtime });
    this.entries++;
  }

  private endPax(): void {
    const pax = this.pax!;
    this.pax = null;
    if (pax.global) return; // attributes for every entry: no layer writer uses them for xattrs
    this.next = parsePaxRecords(Buffer.concat(pax.chunks));
  }
}
