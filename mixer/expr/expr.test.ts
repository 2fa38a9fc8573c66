import assert from 'node:assert/strict';
import { Duration, IpAddress, ValueType, type Value } from '../../lib/mixer/value.ts';
import type { AttributeRef } from '../../lib/mixer/referenced.ts';
import { ExpressionError } from './ast.ts';
import { compileExpression } from './compile.ts';
import { globMatch } from './functions.ts';
import { BagReader, TrackingReader } from './reader.ts';

const bag = new Map<string, Value>([
  [
    'source.labels',
    new Map([
      ['app', 'reviews'],
      ['version', 'v3'],
    ]),
  ],
  ['destination.labels', new Map([['app', 'ratings']])],
  ['destination.service', 'ratings.default.svc.cluster.local'],
  ['source.ip', IpAddress.parse('10.0.0.7') as IpAddress],
  ['request.path', '/api/v1/ratings'],
  ['request.headers', new Map([['x-user', 'jason']])],
  ['response.code', 503],
  ['response.duration', new Duration(25)],
  ['request.size', 1024],
  ['connection.mtls', true],
]);

function fails(text: string, pattern: RegExp): void {
  assert.throws(
    () => compileExpression(text),
    (e: unknown) => {
      assert.ok(e instanceof ExpressionError, String(e));
      assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('mixer expression language', () => {
  describe('parse errors name the column', () => {
    const cases: { name: string; text: string; want: RegExp }[] = [
      { name: 'empty', text: '   ', want: /column 1: empty expression/ },
      { name: 'dangling operator', text: 'a.b ==', want: /column 7: unexpected end of expression/ },
      { name: 'unclosed paren', text: '(request.path == "/"', want: /column 21: expected "\)"/ },
      { name: 'unclosed index', text: 'source.labels["app"', want: /column 20: expected "\]"/ },
      {
        name: 'unterminated string',
        text: 'request.path == "abc',
        want: /column 17: unterminated string/,
      },
      {
        name: 'stray character',
        text: 'request.size > 3',
        want: /column 14: unexpected character ">"/,
      },
      {
        name: 'single equals',
        text: 'request.path = "/"',
        want: /column 14: unexpected character "="/,
      },
      {
        name: 'trailing dot',
        text: 'source. == "x"',
        want: /column 9: expected a name after "\."/,
      },
      {
        name: 'two expressions',
        text: 'request.path "x"',
        want: /column 14: unexpected string "x"/,
      },
      { name: 'bad escape', text: '"a\\qb"', want: /unknown escape \\q/ },
      { name: 'bad number', text: 'response.code == 12ab', want: /column 18: invalid number/ },
    ];
    for (const c of cases) {
      it(c.name, () => {
        fails(c.text, c.want);
      });
    }
  });

  describe('type errors', () => {
    const cases: { name: string; text: string; want: RegExp }[] = [
      {
        name: 'unknown attribute',
        text: 'source.lables["app"] == "x"',
        want: /column 1: unknown attribute source\.lables/,
      },
      {
        name: 'string vs int',
        text: 'response.code == "200"',
        want: /"==" needs one type on both sides, got INT64 and STRING/,
      },
      {
        name: 'index a string',
        text: 'request.path["a"]',
        want: /only a STRING_MAP can be indexed, got STRING/,
      },
      {
        name: 'int map key',
        text: 'source.labels[1]',
        want: /a map key must be STRING, got INT64/,
      },
      {
        name: 'and of strings',
        text: 'request.path && true',
        want: /the left side of "&&" must be BOOL, got STRING/,
      },
      {
        name: 'fallback of two types',
        text: 'request.path | 3',
        want: /"\|" needs one type on both sides, got STRING and INT64/,
      },
      {
        name: 'comparing maps',
        text: 'source.labels == destination.labels',
        want: /string maps cannot be compared/,
      },
      {
        name: 'unknown function',
        text: 'lower(request.path)',
        want: /unknown function lower \(known: ip, match, timestamp\)/,
      },
      {
        name: 'arity',
        text: 'match(request.path)',
        want: /match\(\) takes 2 argument\(s\), got 1/,
      },
      {
        name: 'bad ip literal',
        text: 'source.ip == ip("10.0.0.300")',
        want: /ip\(\) needs an IPv4 or IPv6 address/,
      },
      {
        name: 'ip argument type',
        text: 'ip(request.size)',
        want: /argument 1 of ip\(\) must be STRING, got INT64/,
      },
      { name: 'not of a string', text: '!request.path', want: /the operand of "!" must be BOOL/ },
    ];
    for (const c of cases) {
      it(c.name, () => {
        fails(c.text, c.want);
      });
    }

    it('a result of the wrong type for its field', () => {
      assert.throws(
        () => compileExpression('request.path', { expected: [ValueType.BOOL] }),
        /must be BOOL, got STRING/,
      );
    });
  });

  describe('types and values', () => {
    const cases: { name: string; text: string; type: ValueType; want: Value | undefined }[] = [
      {
        name: 'the example deny rule',
        text: 'destination.labels["app"] == "ratings" && source.labels["app"]=="reviews" && source.labels["version"] == "v3"',
        type: ValueType.BOOL,
        want: true,
      },
      { name: 'inequality', text: 'request.path != "/"', type: ValueType.BOOL, want: true },
      {
        name: 'or short-circuits',
        text: 'connection.mtls || source.user == "x"',
        type: ValueType.BOOL,
        want: true,
      },
      {
        name: 'fallback to a literal',
        text: 'source.labels["team"] | "unknown"',
        type: ValueType.STRING,
        want: 'unknown',
      },
      {
        name: 'fallback chain',
        text: 'source.service | source.labels["app"] | "unknown"',
        type: ValueType.STRING,
        want: 'reviews',
      },
      { name: 'int fallback', text: 'response.code | 200', type: ValueType.INT64, want: 503 },
      {
        name: 'duration literal',
        text: 'response.duration | "0ms"',
        type: ValueType.DURATION,
        want: new Duration(25),
      },
      {
        name: 'duration comparison',
        text: 'response.duration == "25ms"',
        type: ValueType.BOOL,
        want: true,
      },
      {
        name: 'duration-like string vs a string',
        text: 'request.path == "1h"',
        type: ValueType.BOOL,
        want: false,
      },
      {
        name: 'ip equality',
        text: 'source.ip == ip("10.0.0.7")',
        type: ValueType.BOOL,
        want: true,
      },
      {
        name: 'ip of mapped v6',
        text: 'source.ip == ip("::ffff:10.0.0.7")',
        type: ValueType.BOOL,
        want: true,
      },
      {
        name: 'match prefix',
        text: 'match(request.path, "/api/*")',
        type: ValueType.BOOL,
        want: true,
      },
      {
        name: 'match suffix',
        text: 'match(destination.service, "*.cluster.local")',
        type: ValueType.BOOL,
        want: true,
      },
      {
        name: 'dynamic map key',
        text: 'request.headers[source.labels["missing"] | "x-user"]',
        type: ValueType.STRING,
        want: 'jason',
      },
      { name: 'not', text: '!(response.code == 200)', type: ValueType.BOOL, want: true },
      {
        name: 'absent propagates through ==',
        text: 'source.labels["team"] == "books"',
        type: ValueType.BOOL,
        want: undefined,
      },
      { name: 'absent attribute', text: 'request.method', type: ValueType.STRING, want: undefined },
      {
        name: 'int literal as double',
        text: 'request.size == 1024',
        type: ValueType.BOOL,
        want: true,
      },
      {
        name: 'precedence: | before ==',
        text: 'source.labels["team"] | "books" == "books"',
        type: ValueType.BOOL,
        want: true,
      },
      {
        name: 'timestamp literal',
        text: 'timestamp("2017-10-04T12:00:00Z")',
        type: ValueType.TIMESTAMP,
        want: new Date('2017-10-04T12:00:00Z'),
      },
      { name: 'escapes', text: '"a\\"b\\u0041"', type: ValueType.STRING, want: 'a"bA' },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const e = compileExpression(c.text);
        assert.equal(e.type, c.type);
        assert.deepEqual(e.evaluate(new BagReader(bag)), c.want);
      });
    }
  });

  describe('referenced attributes', () => {
    const cases: { name: string; text: string; want: AttributeRef[] }[] = [
      {
        name: 'map keys read, in order, until && decides',
        text: 'destination.labels["app"] == "details" && source.labels["app"] == "reviews"',
        want: [{ name: 'destination.labels', mapKey: 'app', condition: 'EXACT' }],
      },
      {
        name: 'an absent key and the fallback read after it',
        text: 'source.labels["team"] | destination.service',
        want: [
          { name: 'source.labels', mapKey: 'team', condition: 'ABSENCE' },
          { name: 'destination.service', condition: 'EXACT' },
        ],
      },
      {
        name: 'an absent map is absent as a whole',
        text: 'response.headers["x"] | "none"',
        want: [{ name: 'response.headers', condition: 'ABSENCE' }],
      },
      {
        name: 'an absent attribute',
        text: 'request.method == "GET" || true',
        want: [{ name: 'request.method', condition: 'ABSENCE' }],
      },
      {
        name: 'literals only read nothing',
        text: '"a" == "a"',
        want: [],
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = new TrackingReader(bag);
        compileExpression(c.text).evaluate(r);
        assert.deepEqual(r.references(), c.want);
      });
    }

    it('lists the attributes an expression can read', () => {
      const e = compileExpression('source.labels["app"] | source.service | "x"');
      assert.deepEqual(e.attributes, ['source.labels', 'source.service']);
      assert.equal(compileExpression('"1s"').constant instanceof Duration, true);
    });
  });

  describe('match()', () => {
    const cases: [string, string, boolean][] = [
      ['/api/x', '/api/*', true],
      ['/apix', '/api/*', false],
      ['a.svc.cluster.local', '*.cluster.local', true],
      ['abc', 'abc', true],
      ['abc', 'ab', false],
      ['anything', '*', true],
    ];
    for (const [s, p, want] of cases) {
      it(`match(${s}, ${p}) is ${String(want)}`, () => {
        assert.equal(globMatch(s, p), want);
      });
    }
  });
});
