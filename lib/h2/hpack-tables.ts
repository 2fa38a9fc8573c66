/**
 * HPACK's fixed tables (RFC 7541): the static table of Appendix A and the Huffman code of
 * Appendix B. That code is canonical: codes of one length are consecutive, shorter lengths first
 * and symbols in order within a length, so the 257 code lengths define it completely; they are
 * kept here as one letter each ('A' = 5 bits ... 'Z' = 30) and the decoder is built from them.
 */

/** Index 1..61 of the static table (index 0 unused). */
export const staticTable: readonly (readonly [string, string])[] = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ...[
    'accept-charset',
    'accept-encoding',
    'accept-language',
    'accept-ranges',
    'accept',
    'access-control-allow-origin',
    'age',
    'allow',
    'authorization',
    'cache-control',
    'content-disposition',
    'content-encoding',
    'content-language',
    'content-length',
    'content-location',
    'content-range',
    'content-type',
    'cookie',
    'date',
    'etag',
    'expect',
    'expires',
    'from',
    'host',
    'if-match',
    'if-modified-since',
    'if-none-match',
    'if-range',
    'if-unmodified-since',
    'last-modified',
    'link',
    'location',
    'max-forwards',
    'proxy-authenticate',
    'proxy-authorization',
    'range',
    'referer',
    'refresh',
    'retry-after',
    'server',
    'set-cookie',
    'strict-transport-security',
    'transfer-encoding',
    'user-agent',
    'vary',
    'via',
    'www-authenticate',
  ].map((name): readonly [string, string] => [
    name,
    name === 'accept-encoding' ? 'gzip, deflate' : '',
  ]),
];

/** The static index of a header name (its first entry), for the encoder. */
export const staticNameIndex: ReadonlyMap<string, number> = new Map(
  staticTable
    .map(([name], i): [string, number] => [name, i])
    .filter(([name], i) => i > 0 && staticTable[i - 1]?.[0] !== name),
);

/** Code lengths of symbols 0..255 and EOS (256), one letter each: 'A' + (length - 5). */
const lengths =
  'ISXXXXXXXTZXXZXXXXXXXXZXXXXXXXXXBFFHIBDGFFDGDBBBAAABBBBBBBCDKBHFIBCCCCCCCCCCCCCCCCCCCCCCDCDIOIJBKABABABBBACCBBBABCBAABCCCCCKGJIXPRPPRRRSRSSSSSTSTTRSTSSSSQRSRSSTRQPRRSSQSRRTQRSSQQRQSRSSPRRRSRRSVVPORSRUVVVWWVTUOQVWWVWTQQVVXWWWPTPQRQQSRRUUTTVSVWVVWWWWWXWWWWWVZ';

/** The Huffman end-of-string symbol: decoding it is an error (RFC 7541 section 5.2). */
export const EOS = 256;

/**
 * Canonical decoding tables, by code length L (5..30): the first code of that length, how many
 * codes have it, and where its symbols start in `symbols`.
 */
export interface HuffmanTables {
  readonly firstCode: Float64Array;
  readonly count: Uint16Array;
  readonly offset: Uint16Array;
  readonly symbols: Uint16Array;
}

function buildTables(): HuffmanTables {
  const len = Array.from({ length: lengths.length }, (_, i) => lengths.charCodeAt(i) - 65 + 5);
  if (len.length !== 257) throw new Error('HPACK Huffman table: 257 code lengths expected');
  const order = len.map((_, s) => s).sort((a, b) => (len[a] ?? 0) - (len[b] ?? 0) || a - b);
  const firstCode = new Float64Array(31);
  const count = new Uint16Array(31);
  const offset = new Uint16Array(31);
  const symbols = Uint16Array.from(order);
  let code = 0;
  let prev = len[order[0] ?? 0] ?? 5;
  order.forEach((s, i) => {
    const l = len[s] ?? 0;
    code *= 2 ** (l - prev);
    prev = l;
    if (count[l] === 0) {
      firstCode[l] = code;
      offset[l] = i;
    }
    count[l] = (count[l] ?? 0) + 1;
    code++;
  });
  return { firstCode, count, offset, symbols };
}

export const huffman: HuffmanTables = buildTables();
