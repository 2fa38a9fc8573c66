import assert from 'node:assert/strict';
import { encodeHeaders, HpackDecoder } from './hpack.ts';
import { readHeaderBlock } from './request-headers.ts';

const read = (fields: [string, string][]) =>
  readHeaderBlock(new HpackDecoder(), encodeHeaders(fields));

describe('lib/h2/request-headers', () => {
  it("inherits nothing: names such as __proto__ and toString are the request's own fields", () => {
    const { headers, malformed } = read([
      [':method', 'POST'],
      [':path', '/p'],
      ['__proto__', 'a'],
      ['tostring', 'b'],
      ['constructor', 'c'],
    ]);
    assert.equal(malformed, '');
    assert.equal(headers['__proto__'], 'a');
    assert.equal(headers['tostring'], 'b');
    assert.equal(headers['constructor'], 'c');
    assert.deepEqual(Object.keys(headers), [
      ':method',
      ':path',
      '__proto__',
      'tostring',
      'constructor',
    ]);
    const other = read([
      [':method', 'GET'],
      [':path', '/'],
    ]).headers;
    // Nothing set on one request's headers shows through another's.
    assert.equal(other['__proto__'], undefined);
    assert.equal(other['constructor'], undefined);
    assert.equal(Object.hasOwn(other, 'hasOwnProperty') || 'hasOwnProperty' in other, false);
    assert.equal('toString' in other, false);
  });

  it('keeps a repeated name as an array, in order', () => {
    const { headers } = read([
      [':method', 'GET'],
      [':path', '/'],
      ['x-a', '1'],
      ['x-a', '2'],
      ['x-a', '3'],
    ]);
    assert.deepEqual(headers['x-a'], ['1', '2', '3']);
  });

  it('names what makes a request malformed', () => {
    assert.equal(read([[':method', 'GET']]).malformed, 'no :path');
    assert.equal(read([[':path', '/']]).malformed, 'no :method');
    assert.equal(
      read([
        [':method', 'GET'],
        ['x-a', '1'],
        [':path', '/'],
      ]).malformed,
      'pseudo-header :path after a regular header',
    );
    assert.equal(
      read([
        [':method', 'GET'],
        [':path', '/'],
        ['X-Up', '1'],
      ]).malformed,
      'header name X-Up is not lower case',
    );
  });
});
