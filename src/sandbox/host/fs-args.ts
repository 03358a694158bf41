/**
 * The arguments of a guest's file call, read from the guest's JSON. Checked by a small table here rather than by a
 * zod schema, as the rest of Capsule does: this module runs in every sandbox thread, and zod 4 costs each thread
 * ~6.8 MB of RSS once imported (a bare worker 8.5 MB, with zod 15.3 MB; bundled and tree-shaken, zod/mini still
 * +4.3 MB), a third of issue 17's 20 MB per concurrent sandbox. The shapes are the ones the schemas had: unknown
 * keys are dropped, every listed key has its type, a path is at most 4096 characters.
 */
import type { FsOp } from '../guest/protocol.js';

type FieldType = 'path' | 'string' | 'encoding' | 'boolean';
type Shape = Readonly<Record<string, { type: FieldType; optional?: true }>>;

const path = { type: 'path' } as const;
const encoding = { type: 'encoding', optional: true } as const;
const flag = { type: 'boolean', optional: true } as const;
const written = { path, data: { type: 'string' }, encoding } as const;

const SHAPES = {
  readFile: { path, encoding },
  writeFile: written,
  appendFile: written,
  readdir: { path },
  stat: { path },
  lstat: { path },
  exists: { path },
  mkdir: { path, recursive: flag },
  rm: { path, recursive: flag, force: flag },
  rmdir: { path },
  unlink: { path },
  rename: { from: path, to: path },
} as const satisfies Record<FsOp, Shape>;

type Value<F> = F extends { type: 'path' | 'string' } ? string : F extends { type: 'encoding' } ? 'utf8' | 'base64' : boolean;
type Parsed<S> = { -readonly [K in keyof S as S[K] extends { optional: true } ? never : K]: Value<S[K]> } & {
  -readonly [K in keyof S as S[K] extends { optional: true } ? K : never]?: Value<S[K]>;
};
/** The checked arguments of operation `Op`. */
export type FsArgs<Op extends FsOp> = Parsed<(typeof SHAPES)[Op]>;

export const MAX_GUEST_PATH = 4096;

export function isFsOp(op: string): op is FsOp {
  return Object.hasOwn(SHAPES, op);
}

/** What is wrong with one value, or undefined. */
function problem(type: FieldType, value: unknown): string | undefined {
  switch (type) {
    case 'path':
      if (typeof value !== 'string') return `expected a string, received ${describe(value)}`;
      return value.length > MAX_GUEST_PATH ? `at most ${MAX_GUEST_PATH} characters` : undefined;
    case 'string':
      return typeof value === 'string' ? undefined : `expected a string, received ${describe(value)}`;
    case 'encoding':
      return value === 'utf8' || value === 'base64' ? undefined : 'expected "utf8" or "base64"';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected a boolean, received ${describe(value)}`;
  }
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** The arguments of `op` from the guest's parsed JSON; `field` is "" when the value itself is not an object. */
export function readFsArgs<Op extends FsOp>(op: Op, value: unknown): { ok: true; args: FsArgs<Op> } | { ok: false; field: string; message: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, field: '', message: `expected an object, received ${describe(value)}` };
  const given = value as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(SHAPES[op] as Shape)) {
    const raw = Object.hasOwn(given, key) ? given[key] : undefined;
    if (raw === undefined) {
      if (field.optional) continue;
      return { ok: false, field: key, message: 'required' };
    }
    const wrong = problem(field.type, raw);
    if (wrong !== undefined) return { ok: false, field: key, message: wrong };
    args[key] = raw;
  }
  return { ok: true, args: args as FsArgs<Op> };
}
