/** The pure parts of agent steps: `when` conditions (workflows/template.ts), Retry-After (activities/call-llm.ts), defaults. */
import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../src/activities/call-llm.js';
import { BUILTIN_DEFAULTS } from '../../src/config/task-options.js';
import { parseDuration } from '../../src/config/units.js';
import { DEFAULT_CODE_TIMEOUT_MS } from '../../src/workflows/steps.js';
import { evaluateCondition, parseCondition } from '../../src/workflows/template.js';

describe('when conditions', () => {
  const scope = { input: { on: true, off: false, zero: 0, text: 'x', empty: '', list: [], full: [1], obj: {}, some: { a: 1 } }, outputs: { review: { approved: true } } };

  it('reads the truthiness of one reference, flipped by not', () => {
    const cases: [string, boolean][] = [
      ['{{ input.on }}', true], ['{{ input.off }}', false], ['{{ input.zero }}', false], ['{{ input.text }}', true],
      ['{{ input.empty }}', false], ['{{ input.list }}', false], ['{{ input.full }}', true], ['{{ input.obj }}', false],
      ['{{ input.some }}', true], ['{{ input.missing }}', false], ['{{ steps.review.output.approved }}', true],
      ['{{ not steps.review.output.approved }}', false], ['{{ not input.missing }}', true], ['  {{not input.off}}  ', true],
    ];
    for (const [text, expected] of cases) expect([text, evaluateCondition(text, scope)]).toEqual([text, expected]);
  });

  it('refuses anything but one reference', () => {
    for (const text of ['input.on', '{{ input.on }} and more', '{{ input.on }}{{ input.off }}', '{{ input.n > 3 }}', '{{ not }}', '{{ not not input.on }}', '{{ steps.x }}']) {
      expect(() => parseCondition(text), text).toThrow(/is not a condition; expected exactly one reference/);
    }
  });
});

describe('Retry-After', () => {
  const headers = (entries: Record<string, string>) => new Headers(entries);
  it('reads seconds, an HTTP date and retry-after-ms, capped at 10 minutes', () => {
    expect(retryAfterMs(headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(headers({ 'retry-after': new Date(1_000_000 + 5000).toUTCString() }), 1_000_000)).toBe(5000);
    expect(retryAfterMs(headers({ 'retry-after': '86400' }))).toBe(600_000);
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(headers({}))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

it('code-first code steps default to the options\' built-in timeout', () => {
  expect(parseDuration(BUILTIN_DEFAULTS.timeout)).toEqual({ ok: true, value: DEFAULT_CODE_TIMEOUT_MS });
});
