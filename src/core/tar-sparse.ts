// GNU sparse files in a layer tar, unpacked with their holes.
//
// GNU tar --sparse stores only a file's data segments and a map of where they go: in an old
// GNU 'S' header (and extension blocks after it), or, in the POSIX format, in GNU.sparse.*
// PAX records (versions 0.0 and 0.1) or a map at the start of the entry's data (1.0, GNU
// tar's default). node-tar knows none of it: it drops an 'S' entry and would write a PAX
// sparse file's map and segments as its contents. Go's archive/tar, which Docker and umoci
// unpack with, reads all four and seeks over the holes.
//
// So this pass, between the diff id's hash and node-tar, takes each sparse entry out of the
// stream: its segments are written at their offsets into a file of its own beside the diff
// (the holes stay holes), and node-tar is shown an empty regular file with the entry's name,
// owner, mode, mtime and xattrs in its place. The unpacker then moves the file into place
// (LayerUnpacker's deferred entries), after the same checks as any entry. Everything else
// passes through byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import { t } from '../i18n/messages.js';
import { BLOCK, ENTRY_TYPES, paxRecordList, sizeOf, type PaxRecord } from './tar-xattrs.js';

/** A sparse entry's file, written beside the diff. */
export interface SparseFile {
  temp: string;
  realSize: number;
}

interface Segment {
  offset: number;
  size: number;
}

/** What the splitter refuses of a tar stream: the layer cannot be unpacked right. */
export class SplitRefused extends Error {}

/** A malformed sparse entry: its map and its data disagree. */
export class SparseError extends SplitRefused {}

/** A meta header (PAX, GNU long name) longer than any reader holds: refused before it is
 * gathered, as Go's archive/tar (Docker's, containerd's) refuses one over its
 * maxSpecialFileSize, 1 MiB. (node-tar would skip it and lose what it says of the entry.) */
export class MetaTooLong extends SplitRefused {}
const MAX_META = 1 << 20;
/** PAX headers (x, and g for the whole archive; X: Solaris's x) and GNU long names (L, K). */
const META_TYPES = new Set(['x', 'X', 'g', 'L', 'K']);

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** The name field of a header (its first 100 bytes, up to the first NUL). */
const nameField = (h: Buffer) => h.toString('utf8', 0, 100).replace(/\0.*$/s, '');

/** A header's checksum field, for a header whose other bytes are final. */
function setChecksum(h: Buffer): void {
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

/** An octal number field of `width` bytes (digits, then NUL). */
function octal(h: Buffer, at: number, width: number, n: number): void {
  h.write(`${n.toString(8).padStart(width - 1, '0')}\0`, at, 'latin1');
}

/** An old GNU header's number field (octal, or base-256 with the high bit). */
function gnuNumber(field: Buffer): number {
  if (field[0]! & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field.toString('latin1').replace(/[\0 ].*$/s, '');
  return text ? Number.parseInt(text, 8) : 0;
}

/** Up to `count` (offset, size) pairs of 24 bytes from `at`; empty ones end the list. */
function gnuSegments(b: Buffer, at: number, count: number): Segment[] {
  const out: Segment[] = [];
  for (let i = 0; i < count; i++) {
    const o = at + i * 24;
    if (b[o] === 0) break;
    out.push({ offset: gnuNumber(b.subarray(o, o + 12)), size: gnuNumber(b.subarray(o + 12, o + 24)) });
  }
  return out;
}

/** The value of the last record of `key`: the one that counts. */
function lastRecord(records: PaxRecord[], key: string): Buffer | undefined {
  for (let i = records.length - 1; i >= 0; i--) if (records[i]![0] === key) return records[i]![1];
  return undefined;
}

/** A PAX header block and its data for `records`. */
function paxHeader(records: PaxRecord[]): Buffer {
  const body = Buffer.concat(
    records.map(([key, value]) => {
      const rest = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
      // The length counts its own digits, which may take one more digit once added.
      let digits = String(rest.length).length;
      if (String(rest.length + digits).length > digits) digits++;
      return Buffer.concat([Buffer.from(String(rest.length + digits), 'latin1'), rest]);
    }),
  );
  const h = Buffer.alloc(BLOCK);
  h.write('././@PaxHeader', 0, 'latin1');
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, body.length);
  octal(h, 136, 12, 0);
  h.write('x', 156, 'latin1');
  h.write('ustar\x0000', 257, 'latin1');
  setChecksum(h);
  return Buffer.concat([h, body, Buffer.alloc(padded(body.length) - body.length)]);
}

type State =
  /** Bytes gathered (a header, a PAX header's data, an old GNU extension block, a block of a
   * 1.0 map), then handed to `then`, which sets the next state; `entry`: the sparse file
   * they belong to, if any. */
  | { kind: 'gather'; left: number; chunks: Buffer[]; then: (data: Buffer) => void; entry?: SparseEntry }
  /** Bytes passed on as they are. */
  | { kind: 'pass'; left: number }
  /** A sparse file's segments, written at their offsets; then its padding, dropped. */
  | { kind: 'segments'; entry: SparseEntry };

/** The most segments a 1.0 map may give (a larger map is taken for damage). */
const MAX_SEGMENTS = 1_000_000;

interface SparseEntry {
  fd: number;
  file: SparseFile;
  segments: Segment[];
  /** Data bytes of the entry (its map included, for 1.0) not yet read, and the padding after. */
  dataLeft: number;
  padLeft: number;
  segment: number;
  segmentDone: number;
  name: string;
}

/** Takes GNU sparse entries out of a tar stream (see the top of this file): each chunk of
 * the tar in, the chunks to give node-tar out. */
export class SparseSplitter {
  private state: State = this.nextHeader();
  /** The records of a PAX header held back because they describe a sparse file. */
  private sparseRecords: PaxRecord[] | null = null;
  /** The size a passed-on PAX header gives the next entry (files of 8 GiB and more). */
  private paxSize: number | null = null;
  /** Entries shown downstream so far (meta headers not counted), as node-tar counts them. */
  private entries = 0;
  private files = new Map<number, SparseFile>();
  /** Sparse files made so far: the next one's number. */
  private sequence = 0;
  /** Every sparse file written: what the unpacker did not move into the diff (an entry a
   * later one of the same path replaced) it removes. */
  readonly temps: string[] = [];

  /** What split() gives back. */
  private out: Buffer[] = [];

  /** `dir`: where the sparse files are written (beside the diff, on its filesystem). */
  constructor(private readonly dir: string) {}

  /** The sparse file that stands for entry `index` (node-tar's filter's count), once. */
  fileOf(index: number): SparseFile | undefined {
    const f = this.files.get(index);
    this.files.delete(index);
    return f;
  }

  /** The next chunk of the tar; returns what node-tar is to be given of it (and of the
   * chunks before). Throws a SparseError for a sparse entry it cannot read. */
  split(chunk: Buffer): Buffer[] {
    this.consume(chunk);
    const out = this.out;
    this.out = [];
    return out;
  }

  /** The tar has ended: it must not end inside a sparse file. */
  end(): void {
    const s = this.state;
    const inside = s.kind === 'pass' ? undefined : s.entry;
    if (inside) throw this.damaged(inside, t`the archive ends inside it`);
  }

  /** The entry cannot be read: its file closed, and the error that says why. */
  private damaged(entry: SparseEntry, why: string): SparseError {
    this.closeEntry(entry);
    const name = JSON.stringify(entry.name);
    return new SparseError(t`sparse file ${name}: ${why}`);
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const s = this.state;
      const n = chunk.length - pos;
      switch (s.kind) {
        case 'gather': {
          const take = Math.min(s.left, n);
          s.chunks.push(Buffer.from(chunk.subarray(pos, pos + take)));
          pos += take;
          s.left -= take;
          if (s.left === 0) s.then(Buffer.concat(s.chunks));
          break;
        }
        case 'pass': {
          const take = Math.min(s.left, n);
          this.out.push(chunk.subarray(pos, pos + take));
          pos += take;
          s.left -= take;
          if (s.left === 0) this.state = this.nextHeader();
          break;
        }
        case 'segments': {
          pos += this.writeSegments(s.entry, chunk.subarray(pos));
          break;
        }
      }
    }
  }

  private gather(left: number, then: (data: Buffer) => void, entry?: SparseEntry): State {
    return { kind: 'gather', left, chunks: [], then, entry };
  }

  private nextHeader(): State {
    return this.gather(BLOCK, (h) => this.onHeader(h));
  }

  /** An old GNU extension block: 21 more segments, and whether another block follows. */
  private gnuExtension(entry: SparseEntry): State {
    return this.gather(
      BLOCK,
      (b) => {
        entry.segments.push(...gnuSegments(b, 0, 21));
        if (b[504]) this.state = this.gnuExtension(entry);
        else this.startSegments(entry);
      },
      entry,
    );
  }

  /** The map at the start of a 1.0 sparse file's data, read a block at a time: decimal
   * numbers, one a line (the count, then offset and size of each segment), NULs after them
   * to the end of their last block. `numbers`: those read so far; `rest`: a number cut by
   * the end of the last block. */
  private map(entry: SparseEntry, numbers: number[] = [], rest = ''): State {
    return this.gather(
      BLOCK,
      (block) => {
        entry.dataLeft -= BLOCK;
        const lines = (rest + block.toString('latin1')).split('\n');
        const cut = lines.pop() ?? '';
        for (const line of lines) {
          if (!/^\d{1,20}$/.test(line)) throw this.damaged(entry, t`its map is damaged`);
          numbers.push(Number(line));
          const count = numbers[0]!;
          if (!Number.isSafeInteger(count) || count > MAX_SEGMENTS) throw this.damaged(entry, t`its map is damaged`);
          if (numbers.length === 1 + 2 * count) {
            for (let i = 0; i < count; i++) entry.segments.push({ offset: numbers[1 + 2 * i]!, size: numbers[2 + 2 * i]! });
            return this.startSegments(entry); // the rest of the block is the map's padding
          }
        }
        if (cut.length > 20) throw this.damaged(entry, t`its map is damaged`);
        if (entry.dataLeft <= 0) throw this.damaged(entry, t`its map is longer than its data`);
        this.state = this.map(entry, numbers, cut);
      },
      entry,
    );
  }

  private onHeader(h: Buffer): void {
    this.state = this.nextHeader();
    if (h.every((b) => b === 0)) {
      this.out.push(h); // the end of the archive (two zero blocks)
      return;
    }
    const type = String.fromCharCode(h[156]!);
    if (META_TYPES.has(type) && sizeOf(h) > MAX_META) {
      const name = JSON.stringify(nameField(h));
      throw new MetaTooLong(t`the meta header ${name} (type ${type}) holds ${sizeOf(h)} bytes: more than the 1 MiB a tar reader takes (Docker's refuses it too)`);
    }
    if (type === 'x' || type === 'X') {
      const size = sizeOf(h);
      if (size === 0) this.onPax(h, Buffer.alloc(0), 0);
      else this.state = this.gather(padded(size), (data) => this.onPax(h, data, size));
      return;
    }
    const entry = ENTRY_TYPES.has(type) || type === 'S';
    // An entry's data is as long as its PAX size record says, else its header; a meta
    // header's (a GNU long name) as its own header says.
    const size = entry ? (this.paxSize ?? sizeOf(h)) : sizeOf(h);
    const records = entry ? this.sparseRecords : null;
    if (entry) {
      this.sparseRecords = null;
      this.paxSize = null;
    }
    if (records) this.paxSparse(h, records, size);
    else if (type === 'S') this.gnuSparse(h, size);
    else {
      if (entry) this.entries++;
      this.out.push(h);
      if (padded(size) > 0) this.state = { kind: 'pass', left: padded(size) };
    }
  }

  private onPax(header: Buffer, data: Buffer, size: number): void {
    const records = paxRecordList(data.subarray(0, size));
    if (records.some(([key]) => key.startsWith('GNU.sparse.'))) {
      this.sparseRecords = records; // shown again, rewritten, with the entry it describes
    } else {
      this.out.push(header);
      this.out.push(data);
      const sizeRecord = lastRecord(records, 'size');
      this.paxSize = sizeRecord === undefined ? null : Number(sizeRecord.toString('latin1'));
    }
    this.state = this.nextHeader();
  }

  /** A PAX sparse file (0.0, 0.1 or 1.0): an empty file with the same records but the
   * sparse ones downstream, its data to a file of its own. */
  private paxSparse(h: Buffer, records: PaxRecord[], dataSize: number): void {
    const get = (key: string) => lastRecord(records, key)?.toString('utf8');
    const name = get('GNU.sparse.name') ?? get('path') ?? nameField(h);
    const realSize = Number(get('GNU.sparse.realsize') ?? get('GNU.sparse.size'));
    if (!Number.isSafeInteger(realSize) || realSize < 0) {
      const quoted = JSON.stringify(name);
      throw new SparseError(t`sparse file ${quoted}: its records give no size`);
    }
    const kept: PaxRecord[] = records.filter(([key]) => !key.startsWith('GNU.sparse.') && key !== 'path' && key !== 'size');
    kept.push(['path', Buffer.from(name, 'utf8')]);
    const entry = this.open(name, realSize, dataSize);
    this.emitEmpty(h, paxHeader(kept));
    if (get('GNU.sparse.major') === '1') {
      this.state = this.map(entry);
      return;
    }
    const map = get('GNU.sparse.map');
    if (map !== undefined) {
      const n = map.split(',').map(Number);
      for (let i = 0; i + 1 < n.length; i += 2) entry.segments.push({ offset: n[i]!, size: n[i + 1]! });
    } else {
      // 0.0: GNU.sparse.offset and GNU.sparse.numbytes, once per segment, in order.
      let offset: number | null = null;
      for (const [key, value] of records) {
        if (key === 'GNU.sparse.offset') offset = Number(value.toString('latin1'));
        else if (key === 'GNU.sparse.numbytes' && offset !== null) entry.segments.push({ offset, size: Number(value.toString('latin1')) });
      }
    }
    this.startSegments(entry);
  }

  /** An old GNU 'S' entry: the map in its header and the extension blocks after it. */
  private gnuSparse(h: Buffer, dataSize: number): void {
    const name = nameField(h);
    const entry = this.open(name, gnuNumber(h.subarray(483, 495)), dataSize);
    entry.segments.push(...gnuSegments(h, 386, 4));
    const extended = h[482] !== 0;
    // In its place a regular empty file, without the GNU sparse fields.
    const plain = Buffer.from(h);
    plain.fill(0, 386, 495);
    this.emitEmpty(plain);
    if (extended) this.state = this.gnuExtension(entry);
    else this.startSegments(entry);
  }

  /** Downstream: `pax` (if any), then `h` as an empty regular file; its index noted. */
  private emitEmpty(h: Buffer, pax?: Buffer): void {
    const plain = Buffer.from(h);
    plain.write('0', 156, 'latin1');
    octal(plain, 124, 12, 0);
    setChecksum(plain);
    if (pax) this.out.push(pax);
    this.out.push(plain);
    this.entries++;
  }

  private open(name: string, realSize: number, dataSize: number): SparseEntry {
    const temp = path.join(this.dir, `.sparse-${this.sequence++}`);
    const fd = fs.openSync(temp, 'wx', 0o600);
    this.temps.push(temp);
    const file = { temp, realSize };
    this.files.set(this.entries, file);
    return { fd, file, segments: [], dataLeft: dataSize, padLeft: padded(dataSize) - dataSize, segment: 0, segmentDone: 0, name };
  }

  private startSegments(entry: SparseEntry): void {
    const total = entry.segments.reduce((sum, s) => sum + s.size, 0);
    const outside = entry.segments.some((s) => !Number.isSafeInteger(s.offset) || !Number.isSafeInteger(s.size) || s.offset < 0 || s.size < 0 || s.offset + s.size > entry.file.realSize);
    if (outside || total !== entry.dataLeft) {
      const segments = entry.segments.length;
      const [data, size] = [entry.dataLeft, entry.file.realSize];
      throw this.damaged(entry, t`its map (${segments} segments, ${total} bytes) does not match its data (${data} bytes) and size (${size} bytes)`);
    }
    this.state = { kind: 'segments', entry };
    if (entry.dataLeft === 0 && entry.padLeft === 0) this.endEntry(entry);
  }

  /** Write what `data` holds of the entry's segments; returns the bytes used. */
  private writeSegments(entry: SparseEntry, data: Buffer): number {
    let pos = 0;
    while (pos < data.length && entry.dataLeft > 0) {
      const seg = entry.segments[entry.segment];
      if (!seg) break;
      const take = Math.min(seg.size - entry.segmentDone, entry.dataLeft, data.length - pos);
      try {
        if (take > 0) fs.writeSync(entry.fd, data, pos, take, seg.offset + entry.segmentDone);
      } catch (err) {
        this.closeEntry(entry); // no space, say: the unpacker says so
        throw err;
      }
      pos += take;
      entry.dataLeft -= take;
      entry.segmentDone += take;
      if (entry.segmentDone === seg.size) {
        entry.segment++;
        entry.segmentDone = 0;
      }
    }
    if (entry.dataLeft === 0) {
      const skip = Math.min(entry.padLeft, data.length - pos);
      entry.padLeft -= skip;
      pos += skip;
      if (entry.padLeft === 0) this.endEntry(entry);
    }
    return pos;
  }

  private endEntry(entry: SparseEntry): void {
    fs.ftruncateSync(entry.fd, entry.file.realSize);
    this.closeEntry(entry);
    this.state = this.nextHeader();
  }

  private closeEntry(entry: SparseEntry): void {
    try {
      fs.closeSync(entry.fd);
    } catch {}
  }
}
