/**
 * Measuring values inside workflow code (no Buffer here): the UTF-8 size of a value's JSON, so a step whose input
 * (or a pipeline whose output) is too large fails with a message naming the sizes instead of failing every
 * workflow task when the SDK cannot serialize it.
 */
import { MAX_VALUE_BYTES } from './shared.js';

/** UTF-8 bytes of JSON.stringify(value); Infinity when it cannot be serialized at all (too long for a string). */
export function jsonBytes(value: unknown): number {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    if (error instanceof RangeError) return Number.POSITIVE_INFINITY;
    throw error;
  }
  if (text === undefined) return 0;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 2; // a surrogate pair: 4 bytes for 2 UTF-16 units
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** "12.3MB" without the Node helpers (workflow code). */
export function megabytes(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / (1024 * 1024)).toFixed(1)}MB` : 'too large to serialize';
}

/** Undefined when `value` fits; else the message saying what was too large, by how much. */
export function oversize(what: string, value: unknown): string | undefined {
  const bytes = jsonBytes(value);
  if (bytes <= MAX_VALUE_BYTES) return undefined;
  return `${what} is ${megabytes(bytes)} of JSON, more than Capsule moves between steps (${megabytes(MAX_VALUE_BYTES)}): pass a smaller value, e.g. write large data to an allowed file and pass its path`;
}
