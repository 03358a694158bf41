/** What crosses into the host from a guest is parsed with limits: JSON depth and size, runner replies, thread messages. */
import { describe, expect, it } from 'vitest';
import { jsonTextDepth, jsonValueProblem, MAX_JSON_DEPTH, parseBoundedJson } from '../../src/sandbox/bounded-json.js';
import { readDescribeReply, readFailure, readRunReply } from '../../src/sandbox/guest-replies.js';
import { fromThreadSchema } from '../../src/sandbox/host/protocol.js';
import { forTerminal } from '../../src/cli/terminal-text.js';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('bounded JSON', () => {
  it('measures depth without parsing, skipping brackets inside strings and escapes', () => {
    expect(jsonTextDepth('{"a":[1,{"b":"[[[\\"]]]"}]}')).toBe(3);
    expect(jsonTextDepth(nested(100_000))).toBe(100_000);
    expect(parseBoundedJson(nested(MAX_JSON_DEPTH), { maxChars: 1e6 }).ok).toBe(true);
    expect(parseBoundedJson(nested(MAX_JSON_DEPTH + 1), { maxChars: 1e6 })).toEqual({ ok: false, reason: 'it nests 513 levels deep, more than 512', limit: true });
    expect(parseBoundedJson('x'.repeat(11), { maxChars: 10 })).toMatchObject({ ok: false, limit: true });
    expect(parseBoundedJson('{oops', { maxChars: 10 })).toMatchObject({ ok: false, reason: expect.stringContaining('not JSON') });
  });

  it('finds values that cannot travel as JSON: too deep, cyclic, BigInt', () => {
    const cyclic: unknown[] = [];
    cyclic.push({ back: cyclic });
    const shared = { x: 1 };
    expect(jsonValueProblem(JSON.parse(nested(5000)))).toBe('it nests more than 512 levels deep');
    expect(jsonValueProblem(cyclic)).toBe('it refers to itself (a cycle)');
    expect(jsonValueProblem({ n: 10n })).toBe('it holds a BigInt, which JSON cannot represent');
    expect(jsonValueProblem([shared, shared, { deep: JSON.parse(nested(500)) }])).toBeUndefined();
  });
});

describe('runner replies', () => {
  it('reads a result, and calls anything else malformed', () => {
    expect(readRunReply('{"result":null}')).toEqual({ ok: true, value: { result: null, script: false } });
    expect(readRunReply('{"result":[1,2]}')).toEqual({ ok: true, value: { result: [1, 2], script: false } });
    expect(readRunReply('{"result":null,"script":true}')).toEqual({ ok: true, value: { result: null, script: true } });
    expect(readRunReply('{"result":null,"script":"yes"}')).toMatchObject({ ok: false, reason: expect.stringContaining('script') });
    expect(readRunReply('{}')).toMatchObject({ ok: false, reason: expect.stringContaining('its result is malformed: result:') });
    expect(readRunReply('null')).toMatchObject({ ok: false, reason: expect.stringContaining('malformed') });
    expect(readRunReply('not json')).toMatchObject({ ok: false, reason: expect.stringContaining('not JSON') });
    expect(readRunReply(`{"result":${nested(600)}}`)).toMatchObject({ ok: false, limit: true });
  });

  it('reads failures and task listings by their schema', () => {
    expect(readFailure('{"kind":"task_error","message":"boom","stack":"at x"}')).toEqual({ ok: true, value: { kind: 'task_error', message: 'boom', stack: 'at x' } });
    expect(readFailure('null')).toMatchObject({ ok: false });
    expect(readFailure('{"kind":"task_error"}')).toMatchObject({ ok: false, reason: expect.stringContaining('message') });
    expect(readFailure('{"kind":"root","message":"x"}')).toMatchObject({ ok: false });
    expect(readDescribeReply('{"tasks":[{"exportName":"main","options":{"name":"main"}}]}')).toEqual({ ok: true, value: [{ exportName: 'main', options: { name: 'main' } }] });
    expect(readDescribeReply('{"tasks":"all of them"}')).toMatchObject({ ok: false });
  });
});

describe('thread messages', () => {
  it('accepts the protocol and nothing else', () => {
    expect(fromThreadSchema.safeParse({ kind: 'event', id: 1, event: { kind: 'meter', fuelConsumed: 5, ramUsed: 10 } }).success).toBe(true);
    for (const garbage of [null, 'done', { kind: 'done', id: 1 }, { kind: 'event', id: 1, event: { kind: 'denial', denial: { capability: 'root', target: 'x', reason: 'y' } } }, { kind: 'event', id: 1, event: { kind: 'request', request: { method: 'GET', url: 'x'.repeat(5000), status: null, allowed: false } } }]) {
      expect(fromThreadSchema.safeParse(garbage).success).toBe(false);
    }
  });
});

describe('terminal text', () => {
  it('shows control characters instead of sending them, keeping newlines and tabs', () => {
    expect(forTerminal('a\x1b]52;c;eA==\x07b\r\nc\td\u009b1m\u202eok')).toBe('a\\x1b]52;c;eA==\\x07b\\x0d\nc\td\\x9b1m\\u202eok');
    expect(forTerminal('plain text, émoji 🎉')).toBe('plain text, émoji 🎉');
  });
});
