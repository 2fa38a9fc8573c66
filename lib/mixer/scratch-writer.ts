/**
 * Protobuf wire writing into one reused buffer, for small messages written on every request:
 * fields go straight into the buffer, a length-delimited field reserves one byte for its length
 * and moves its body up in the rare case it needs more, and `finish` copies the message out, the
 * only allocation. protobufjs's Writer, by contrast, allocates an operation object per field and
 * a state per nested message before it writes a byte (about 4 KB for a Mixer CheckResponse of
 * 150 bytes).
 *
 * One message at a time: `finish` ends it and resets the writer. Encoding
 * (https://protobuf.dev/programming-guides/encoding/): varints of 7 bits a byte, least significant
 * first; sint32 zigzag; negative int32 and int64 as ten-byte varints of their two's complement.
 */
export class ScratchWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly opened: number[] = [];

  constructor(initialBytes = 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** A non-negative integer below 2^53 as a varint. */
  private varint(n: number): void {
    this.room(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  /** A negative integer as the ten-byte varint of its 64-bit two's complement (rare: BigInt). */
  private negative(n: number): void {
    this.room(10);
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  tag(field: number, wire: number): this {
    this.varint(field * 8 + wire);
    return this;
  }

  /** int32 and int64 fields (an integral number). */
  int(n: number): this {
    if (n >= 0) this.varint(n);
    else this.negative(n);
    return this;
  }

  sint32(n: number): this {
    this.varint(((n << 1) ^ (n >> 31)) >>> 0);
    return this;
  }

  string(s: string): this {
    const most = s.length * 3;
    if (most < 0x80) {
      // The length fits one byte: write the bytes after it, then the length.
      this.room(1 + most);
      const n = this.buf.write(s, this.pos + 1, 'utf8');
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return this;
    }
    const n = Buffer.byteLength(s);
    this.varint(n);
    this.room(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  bytes(b: Uint8Array): this {
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Starts a length-delimited field (a message); `ldelim` ends it. */
  fork(field: number): this {
    this.tag(field, 2);
    this.room(1);
    this.opened.push(this.pos);
    this.pos += 1;
    return this;
  }

  ldelim(): this {
    const at = this.opened.pop();
    if (at === undefined) throw new Error('ScratchWriter: ldelim without fork');
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return this;
    }
    // Move the body up by the extra length bytes, then write the varint in the gap.
    let extra = 0;
    for (let v = len >>> 7; v > 0; v >>>= 7) extra++;
    this.room(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    let v = len;
    let p = at;
    while (v >= 0x80) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
    this.pos += extra;
    return this;
  }

  /** Drops whatever a message left unfinished (one whose writing threw). */
  reset(): this {
    this.pos = 0;
    this.opened.length = 0;
    return this;
  }

  /** Bytes written so far in this message. */
  get length(): number {
    return this.pos;
  }

  /**
   * Appends `length` bytes already written from `start` (a field written once, wanted again).
   * Positions move when an enclosing message's length needs more than one byte: take `start`
   * once every message around those bytes is closed.
   */
  again(start: number, length: number): this {
    if (start < 0 || start + length > this.pos) {
      throw new RangeError(
        `ScratchWriter: again(${String(start)}, ${String(length)}) outside the ${String(this.pos)} bytes written`,
      );
    }
    this.room(length);
    this.buf.copy(this.buf, this.pos, start, start + length);
    this.pos += length;
    return this;
  }

  /** The message written since the last `finish`, copied out; the writer is then empty. */
  finish(): Uint8Array {
    if (this.opened.length > 0) throw new Error('ScratchWriter: finish inside a fork');
    const out = new Uint8Array(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }
}
