/**
 * HPACK (RFC 7541) for an HTTP/2 server: a decoder for the peer's header blocks, with the dynamic
 * table and Huffman-coded strings, and an encoder for our own small responses that never indexes
 * (literals without indexing, the static table's names), so the peer's decoder state never
 * depends on ours. Header values are octets and are kept as latin1 strings, one char a byte.
 */
import { EOS, huffman, staticNameIndex, staticTable } from './hpack-tables.ts';

/** A malformed header block: a connection error of type COMPRESSION_ERROR (RFC 7540 4.3). */
export class HpackError extends Error {}

/** Per entry overhead of the table and header list sizes (RFC 7541 4.1, RFC 7540 6.5.2). */
const ENTRY_OVERHEAD = 32;

export class HpackDecoder {
  /** The dynamic table, oldest first. */
  private readonly entries: (readonly [string, string])[] = [];
  private size = 0;
  private maxSize: number;
  /** SETTINGS_HEADER_TABLE_SIZE as we announced it: the most a size update may ask for. */
  private readonly limit: number;
  private pos = 0;
  private block: Buffer = Buffer.alloc(0);

  constructor(limit = 4096) {
    this.limit = limit;
    this.maxSize = limit;
  }

  /**
   * Decodes one complete header block, calling `emit` for each field in order, and returns the
   * header list size (names, values and 32 per field). Throws HpackError when malformed; the
   * table is then no longer usable and the connection must end.
   */
  decode(block: Buffer, emit: (name: string, value: string) => void): number {
    this.block = block;
    this.pos = 0;
    let listSize = 0;
    let fields = 0;
    while (this.pos < block.length) {
      const b = block[this.pos] ?? 0;
      let name: string;
      let value: string;
      if (b & 0x80) {
        // Not destructured: an array pattern takes an iterator object per field.
        const e = this.entry(this.integer(7));
        name = e[0];
        value = e[1];
      } else if (b & 0x40) {
        const index = this.integer(6);
        name = index === 0 ? this.string() : this.entry(index)[0];
        value = this.string();
        this.add(name, value);
      } else if (b & 0x20) {
        if (fields > 0) throw new HpackError('a dynamic table size update after a header field');
        const size = this.integer(5);
        if (size > this.limit) {
          throw new HpackError(
            `dynamic table size update to ${String(size)} over the ${String(this.limit)} allowed`,
          );
        }
        this.maxSize = size;
        this.evict(0);
        continue;
      } else {
        const index = this.integer(4);
        name = index === 0 ? this.string() : this.entry(index)[0];
        value = this.string();
      }
      fields++;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      emit(name, value);
    }
    return listSize;
  }

  private entry(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError('header index 0');
    if (index < staticTable.length) return staticTable[index] ?? ['', ''];
    const e = this.entries[this.entries.length - 1 - (index - staticTable.length)];
    if (e === undefined) throw new HpackError(`header index ${String(index)} is not in the table`);
    return e;
  }

  private add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(size);
    if (size <= this.maxSize) {
      this.entries.push([name, value]);
      this.size += size;
    }
  }

  /** Drops the oldest entries until `room` more fits (all of them when it cannot). */
  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.entries.length > 0) {
      const [n, v] = this.entries.shift() ?? ['', ''];
      this.size -= n.length + v.length + ENTRY_OVERHEAD;
    }
  }

  /** An integer with an N-bit prefix (RFC 7541 5.1), from the current byte on. */
  private integer(prefixBits: number): number {
    const block = this.block;
    const max = (1 << prefixBits) - 1;
    let value = (block[this.pos++] ?? 0) & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= block.length) throw new HpackError('an integer runs past the block');
      const b = block[this.pos++] ?? 0;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
      if (shift > 28) throw new HpackError('an integer over 2^31');
    }
    if (value > 0x7fffffff) throw new HpackError('an integer over 2^31');
    return value;
  }

  /** A string literal (RFC 7541 5.2), raw or Huffman coded. */
  private string(): string {
    if (this.pos >= this.block.length) throw new HpackError('a string runs past the block');
    const coded = ((this.block[this.pos] ?? 0) & 0x80) !== 0;
    const length = this.integer(7);
    const start = this.pos;
    const end = start + length;
    if (end > this.block.length) throw new HpackError('a string runs past the block');
    this.pos = end;
    return coded
      ? huffmanDecode(this.block, start, end)
      : this.block.toString('latin1', start, end);
  }
}

let scratch = Buffer.allocUnsafe(256);

/** Decodes Huffman-coded octets: codes are 5-30 bits, padding is under 8 bits of EOS's ones. */
export function huffmanDecode(buf: Buffer, start: number, end: number): string {
  const { firstCode, count, offset, symbols } = huffman;
  const most = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < most) scratch = Buffer.allocUnsafe(most);
  let n = 0;
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i] ?? 0;
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len++;
      const c = count[len] ?? 0;
      const first = firstCode[len] ?? 0;
      if (c > 0 && code >= first && code - first < c) {
        const symbol = symbols[(offset[len] ?? 0) + code - first] ?? EOS;
        if (symbol === EOS) throw new HpackError('a Huffman string holds EOS');
        scratch[n++] = symbol;
        code = 0;
        len = 0;
      } else if (len >= 30) {
        throw new HpackError('a Huffman code longer than 30 bits');
      }
    }
  }
  if (len > 7 || code !== (1 << len) - 1) throw new HpackError('bad Huffman padding');
  return scratch.toString('latin1', 0, n);
}

/** Appends an integer with an N-bit prefix whose high bits are `flags`. */
function pushInteger(out: number[], flags: number, prefixBits: number, value: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

/**
 * A header block for `fields`: a field matching the static table whole is its index, every
 * other a literal without indexing (a static name index where there is one), strings raw.
 */
export function encodeHeaders(fields: readonly (readonly [string, string])[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const full = staticTable.findIndex(([n, v], i) => i > 0 && n === name && v === value);
    if (full > 0) {
      pushInteger(out, 0x80, 7, full);
      continue;
    }
    const nameIndex = staticNameIndex.get(name) ?? 0;
    pushInteger(out, 0x00, 4, nameIndex);
    if (nameIndex === 0) pushString(out, name);
    pushString(out, value);
  }
  return Buffer.from(out);
}

function pushString(out: number[], s: string): void {
  const bytes = Buffer.from(s, 'latin1');
  pushInteger(out, 0x00, 7, bytes.length);
  for (const b of bytes) out.push(b);
}
