import { describe, expect, it } from 'vitest';
import { formatCount } from '../../src/config/units.js';

describe('formatCount', () => {
  it('prints integers exactly as toLocaleString("en-US") does, without loading ICU', () => {
    const values = [0, 7, 999, 1000, -1000, 12_345, 100_000_000, 2_000_000_000, 50_000_000_000, Number.MAX_SAFE_INTEGER, -98_765_432];
    // A fixed pseudo-random sequence (reproducible), from 1 to 15 digits, every third one negative.
    let seed = 12345;
    for (let i = 0; i < 200; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      values.push((1 + Math.floor((seed / 2 ** 31) * 10 ** (1 + (i % 15)))) * (i % 3 === 0 ? -1 : 1));
    }
    for (const value of values) expect(formatCount(value), String(value)).toBe(value.toLocaleString('en-US'));
  });

  it('rounds a fraction to the nearest integer', () => {
    expect(formatCount(1234.6)).toBe('1,235');
  });
});
