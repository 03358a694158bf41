/**
 * Step input templates. A string that is exactly "{{ expr }}" becomes the value (any JSON type); "{{ expr }}" inside
 * a longer string is replaced by its text. Expressions: input[.path], steps.<id>.output[.path], item[.path], index.
 * Pure and deterministic: it runs inside workflow code and in the client's validation.
 *
 * A step's `when` is a condition: exactly one reference, optionally negated ("{{ not steps.review.output.approved }}"),
 * read for its truthiness. There is deliberately no expression language beyond that.
 */
import { TemplateError } from './errors.js';

const WHOLE = /^\{\{\s*([^{}]+?)\s*\}\}$/;
const EMBEDDED = /\{\{\s*([^{}]+?)\s*\}\}/g;
const SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$|^\d+$/;

export interface TemplateScope {
  input: unknown;
  /** Output of each finished step (fan-out steps: the array of item outputs). */
  outputs: Record<string, unknown>;
  item?: unknown;
  index?: number;
}

export type Reference =
  | { kind: 'input'; path: string[] }
  | { kind: 'step'; step: string; path: string[] }
  | { kind: 'item'; path: string[] }
  | { kind: 'index' };

/** True for a string that is exactly one reference ("{{ steps.plan.output }}"): it renders to the value itself. */
export function isWholeReference(text: string): boolean {
  return WHOLE.test(text);
}

/** Parses one expression; throws TemplateError saying what is expected. */
export function parseExpression(expr: string): Reference {
  const parts = expr.split('.');
  if (!parts.every((p) => SEGMENT.test(p))) {
    throw new TemplateError(`"{{ ${expr} }}" is not a valid reference; expected input[.field], steps.<id>.output[.field], item[.field] or index`);
  }
  const [head, ...rest] = parts;
  if (head === 'input') return { kind: 'input', path: rest };
  if (head === 'item') return { kind: 'item', path: rest };
  if (head === 'index' && rest.length === 0) return { kind: 'index' };
  if (head === 'steps' && rest.length >= 2 && rest[1] === 'output') {
    return { kind: 'step', step: rest[0]!, path: rest.slice(2) };
  }
  throw new TemplateError(`"{{ ${expr} }}" is not a valid reference; expected input[.field], steps.<id>.output[.field], item[.field] or index`);
}

/** A parsed `when`: one reference, and whether `not` flips it. */
export interface Condition {
  negate: boolean;
  ref: Reference;
}

const CONDITION_EXPECTED = 'expected exactly one reference, optionally negated, such as "{{ steps.review.output.approved }}" or "{{ not steps.check.output.ok }}"';

/** Parses a `when`; throws TemplateError saying what is expected. */
export function parseCondition(text: string): Condition {
  const whole = WHOLE.exec(text.trim());
  if (!whole) throw new TemplateError(`${JSON.stringify(text)} is not a condition; ${CONDITION_EXPECTED}`);
  const negated = /^not\s+(.+)$/.exec(whole[1]!);
  const expr = negated ? negated[1]!.trim() : whole[1]!;
  try {
    return { negate: negated !== null, ref: parseExpression(expr) };
  } catch {
    throw new TemplateError(`${JSON.stringify(text)} is not a condition; ${CONDITION_EXPECTED}`);
  }
}

/**
 * A condition's value: the reference's truthiness (false, null, absent, 0, "" and empty arrays and objects are
 * false, as a person reading YAML expects), flipped by `not`.
 */
export function evaluateCondition(text: string, scope: TemplateScope): boolean {
  const { negate, ref } = parseCondition(text);
  return truthy(resolve(ref, scope)) !== negate;
}

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
  return Boolean(value);
}

/** Every reference in a template, in document order. */
export function collectReferences(template: unknown): Reference[] {
  const found: Reference[] = [];
  visitStrings(template, (text) => {
    for (const match of text.matchAll(EMBEDDED)) found.push(parseExpression(match[1]!));
  });
  return found;
}

export function renderTemplate(template: unknown, scope: TemplateScope): unknown {
  if (typeof template === 'string') return renderString(template, scope);
  if (Array.isArray(template)) return template.map((v) => renderTemplate(v, scope));
  if (template !== null && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(template)) out[key] = renderTemplate(value, scope);
    return out;
  }
  return template;
}

function renderString(text: string, scope: TemplateScope): unknown {
  const whole = WHOLE.exec(text);
  if (whole) return resolve(parseExpression(whole[1]!), scope);
  return text.replace(EMBEDDED, (_, expr: string) => {
    const value = resolve(parseExpression(expr), scope);
    return typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  });
}

function resolve(ref: Reference, scope: TemplateScope): unknown {
  switch (ref.kind) {
    case 'index':
      return scope.index ?? null;
    case 'input':
      return walk(scope.input, ref.path);
    case 'item':
      return walk(scope.item, ref.path);
    case 'step':
      return walk(scope.outputs[ref.step], ref.path);
  }
}

/** Missing fields read as null rather than throwing: a step's output shape is the task author's business. */
function walk(value: unknown, path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return null;
    current = (current as Record<string, unknown>)[key];
  }
  return current ?? null;
}

function visitStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) value.forEach((v) => visitStrings(v, visit));
  else if (value !== null && typeof value === 'object') Object.values(value).forEach((v) => visitStrings(v, visit));
}
