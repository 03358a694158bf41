/**
 * JSON from untrusted places (a guest's result, sub-task arguments, `--input`) with size and depth limits. V8
 * parses any depth, but JSON.stringify, structuredClone (postMessage) and recursive validators overflow the stack
 * somewhere between 1,000 and 5,000 levels, as a RangeError far from where the value came in: these checks refuse
 * it at the door, with a message saying which limit.
 */

/** Deepest nesting accepted anywhere a value crosses a boundary: far beyond real data, far below any stack limit. */
export const MAX_JSON_DEPTH = 512;

/** `limit`: well-formed, perhaps, but over a size or depth limit (rather than not JSON at all). */
export type Bounded<T> = { ok: true; value: T } | { ok: false; reason: string; limit?: true };

/** Nesting depth of JSON text, counted without parsing (a linear scan: strings and escapes are skipped). */
export function jsonTextDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

export function parseBoundedJson(text: string, { maxChars, maxDepth = MAX_JSON_DEPTH }: { maxChars: number; maxDepth?: number }): Bounded<unknown> {
  if (text.length > maxChars) return { ok: false, reason: `it is ${text.length} characters long, more than ${maxChars}`, limit: true };
  const depth = jsonTextDepth(text);
  if (depth > maxDepth) return { ok: false, reason: `it nests ${depth} levels deep, more than ${maxDepth}`, limit: true };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, reason: `it is not JSON (${(error as Error).message})` };
  }
}

const MAX_VISITS = 10_000_000;

/**
 * Why a value cannot travel as JSON through the sandbox, or undefined if it can: nesting deeper than `maxDepth`,
 * a cycle, or a BigInt (JSON has no spelling for it). Iterative, so any depth is safe to ask about.
 */
export function jsonValueProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const onPath = new Set<object>();
  // An entry with `leave` set takes its object off the current path once its children are done.
  const stack: { item: unknown; depth: number; leave?: true }[] = [{ item: value, depth: 0 }];
  let visits = 0;
  while (stack.length > 0) {
    const { item, depth, leave } = stack.pop()!;
    if (leave) {
      onPath.delete(item as object);
      continue;
    }
    if (++visits > MAX_VISITS) return `it has more than ${MAX_VISITS} values`;
    if (typeof item === 'bigint') return 'it holds a BigInt, which JSON cannot represent';
    if (typeof item !== 'object' || item === null) continue;
    if (onPath.has(item)) return 'it refers to itself (a cycle)';
    if (depth >= maxDepth) return `it nests more than ${maxDepth} levels deep`;
    onPath.add(item);
    stack.push({ item, depth, leave: true });
    for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push({ item: child, depth: depth + 1 });
  }
  return undefined;
}
