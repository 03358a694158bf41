import { describe, expect, it } from 'vitest';
import { fitEnvelope, invalidTaskEnvelope, type Envelope } from '../../src/sandbox/index.js';

const base = (): Envelope => ({ ...invalidTaskEnvelope('main', ''), success: true, error: null, result: { ok: true } });
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('fitEnvelope', () => {
  it('returns a small envelope unchanged', () => {
    const envelope = base();
    expect(fitEnvelope(envelope, 10_000)).toEqual({ ok: true, envelope });
  });

  it('cuts the middle of captured output to fit, keeping head and tail, and marks it truncated', () => {
    const envelope = base();
    envelope.execution.stdout = `first line\n${'x'.repeat(300_000)}\nlast line\n`;
    envelope.execution.stderr = 'one warning\n';
    const fitted = fitEnvelope(envelope, 50_000);
    if (!fitted.ok) throw new Error('expected it to fit');
    expect(bytes(fitted.envelope)).toBeLessThanOrEqual(50_000);
    expect(fitted.envelope.execution.stdout.startsWith('first line\n')).toBe(true);
    expect(fitted.envelope.execution.stdout.endsWith('last line\n')).toBe(true);
    expect(fitted.envelope.execution.stdout).toMatch(/bytes of output cut to fit the envelope/);
    expect(fitted.envelope.execution.stderr).toBe('one warning\n');
    expect(fitted.envelope.execution.truncated).toBe(true);
    expect(fitted.envelope.result).toEqual({ ok: true });
  });

  it('keeps the first entries of long request and denial lists', () => {
    const envelope = base();
    envelope.execution.denials = Array.from({ length: 5000 }, (_, i) => ({ capability: 'network' as const, target: `http://h${i}.example/`, reason: 'not allowed' }));
    const fitted = fitEnvelope(envelope, 100_000);
    if (!fitted.ok) throw new Error('expected it to fit');
    expect(fitted.envelope.execution.denials).toHaveLength(100);
    expect(fitted.envelope.execution.denials[0]?.target).toBe('http://h0.example/');
  });

  it('refuses when the result alone is over the budget, saying how big it is', () => {
    const envelope = base();
    envelope.result = 'y'.repeat(200_000);
    expect(fitEnvelope(envelope, 50_000)).toEqual({ ok: false, resultBytes: 200_002 });
  });
});
