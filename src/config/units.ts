/**
 * Parsers for the human units task options accept ("64MB", "30s", "LOW"). Each returns a number or a message
 * saying what was expected; callers turn the message into a zod issue so the error names the option.
 */

export const COMPUTE_LEVELS = {
  LOW: 100_000_000,
  MEDIUM: 2_000_000_000,
  HIGH: 50_000_000_000,
} as const;
export type ComputeLevel = keyof typeof COMPUTE_LEVELS;

export type Parsed = { ok: true; value: number } | { ok: false; expected: string };

const BYTE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const COMPUTE_EXPECTED = `"LOW" (${COMPUTE_LEVELS.LOW}), "MEDIUM" (${COMPUTE_LEVELS.MEDIUM}), "HIGH" (${COMPUTE_LEVELS.HIGH}) or a positive integer of fuel`;
export const RAM_EXPECTED = 'a size such as "512KB", "64MB" or "1GB" (binary units), or a positive integer of bytes';
export const DURATION_EXPECTED = 'a duration such as "500ms", "30s" or "2m", or a positive integer of milliseconds';

/** Compute levels are case-insensitive, as in Capsule. */
export function parseCompute(input: unknown): Parsed {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input > 0 ? { ok: true, value: input } : { ok: false, expected: COMPUTE_EXPECTED };
  }
  if (typeof input === 'string') {
    const level = input.trim().toUpperCase();
    if (level in COMPUTE_LEVELS) return { ok: true, value: COMPUTE_LEVELS[level as ComputeLevel] };
    if (/^\d+$/.test(level)) return parseCompute(Number(level));
  }
  return { ok: false, expected: COMPUTE_EXPECTED };
}

export function parseBytes(input: unknown): Parsed {
  return parseWithUnits(input, BYTE_UNITS, /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)$/i, RAM_EXPECTED, (unit) => unit.toUpperCase());
}

export function parseDuration(input: unknown): Parsed {
  return parseWithUnits(input, DURATION_UNITS, /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/, DURATION_EXPECTED, (unit) => unit);
}

function parseWithUnits(
  input: unknown,
  units: Record<string, number>,
  pattern: RegExp,
  expected: string,
  normaliseUnit: (unit: string) => string,
): Parsed {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input > 0 ? { ok: true, value: input } : { ok: false, expected };
  }
  if (typeof input !== 'string') return { ok: false, expected };
  const text = input.trim();
  if (/^\d+$/.test(text)) return parseWithUnits(Number(text), units, pattern, expected, normaliseUnit);
  const match = pattern.exec(text);
  if (!match) return { ok: false, expected };
  const value = Math.round(Number(match[1]) * units[normaliseUnit(match[2]!)]!);
  return value > 0 && Number.isSafeInteger(value) ? { ok: true, value } : { ok: false, expected };
}

/**
 * An integer with thousands separators, as `toLocaleString('en-US')` prints it, without ICU: the first
 * toLocaleString in a process spends ~20 ms loading locale data, a fifth of a short command's whole run.
 */
export function formatCount(value: number): string {
  return Math.round(value).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3}GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(bytes % 1024 ** 2 === 0 ? 0 : 1)}MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1)}KB`;
  return `${bytes}B`;
}

export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** A task's budgets as the Web UI and the CLI show them: "compute LOW, ram 64MB, timeout 20s". */
export function formatLimits(options: { compute: number; ram: number; timeout: number }): string {
  const level = Object.entries(COMPUTE_LEVELS).find(([, fuel]) => fuel === options.compute)?.[0];
  return `compute ${level ?? formatCount(options.compute)}, ram ${formatBytes(options.ram)}, timeout ${formatDuration(options.timeout)}`;
}
