/**
 * The one reading of a zod error for Capsule's one-line messages: its first issue, the field it concerns
 * ("steps[0].task.bundle", "" at the top) and what was wrong, with unknown keys named in the caller's words
 * ("option", "field", "key"). Pure: workflow code uses it too.
 */
import type { z } from 'zod';

export interface Issue {
  /** Dotted, with [n] for array items; "" for the value itself. */
  field: string;
  path: readonly PropertyKey[];
  message: string;
}

export function firstIssue(error: z.ZodError, noun = 'key'): Issue {
  const issue = error.issues[0]!;
  const message = issue.code === 'unrecognized_keys' ? `unknown ${noun}(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  return { field: fieldOf(issue.path), path: issue.path, message };
}

export function fieldOf(path: readonly PropertyKey[]): string {
  return path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('').replace(/^\./, '');
}
