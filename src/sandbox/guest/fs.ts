/**
 * `fs` / `node:fs` / `fs/promises` inside the sandbox. Every operation is one synchronous host call; the host
 * resolves the path against allowedFiles and refuses everything else. The callback and promise flavours wrap
 * the same synchronous core, so the three APIs cannot disagree.
 */
import { fsCall } from 'capsule:sandbox/host@0.1.0';
import { base64ToBytes, bytesToBase64 } from './base64.js';
import type { FsOp, FsReply } from './protocol.js';

type Encoding = 'utf8' | 'utf-8' | 'base64' | 'latin1' | null | undefined;
type EncodingOption = Encoding | { encoding?: Encoding; flag?: string };
type Data = string | Uint8Array | ArrayBufferView;

export class FsError extends Error {
  constructor(readonly code: string, message: string, readonly syscall: string, readonly path: string) {
    super(message);
    this.name = 'Error';
  }
  get errno(): number {
    return ({ ENOENT: -2, EACCES: -13, EEXIST: -17, ENOTDIR: -20, EISDIR: -21, EINVAL: -22, ENOTEMPTY: -39 } as Record<string, number>)[this.code] ?? -1;
  }
}

const utf8 = new TextEncoder();

function call(op: FsOp, args: Record<string, unknown>): unknown {
  const reply = JSON.parse(fsCall(op, utf8.encode(JSON.stringify(args)))) as FsReply;
  if ('error' in reply) throw new FsError(reply.error.code, reply.error.message, op, String(args.path ?? args.from ?? ''));
  return reply.ok;
}

function pathArg(p: unknown): string {
  if (typeof p === 'string') return p;
  if (p instanceof URL) return p.pathname;
  throw new TypeError(`The "path" argument must be of type string or URL. Received ${typeof p}`);
}

function encodingOf(options: EncodingOption): Encoding {
  return typeof options === 'string' || options === null || options === undefined ? options : options.encoding;
}

function encodeData(data: Data, options: EncodingOption): { data: string; encoding: 'utf8' | 'base64' } {
  if (typeof data === 'string') {
    return encodingOf(options) === 'base64' ? { data, encoding: 'base64' } : { data, encoding: 'utf8' };
  }
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { data: bytesToBase64(bytes), encoding: 'base64' };
}

interface StatReply { size: number; mtimeMs: number; atimeMs: number; ctimeMs: number; birthtimeMs: number; mode: number; type: 'file' | 'directory' | 'symlink' | 'other' }

class Stats {
  readonly size: number; readonly mode: number;
  readonly mtimeMs: number; readonly atimeMs: number; readonly ctimeMs: number; readonly birthtimeMs: number;
  readonly mtime: Date; readonly atime: Date; readonly ctime: Date; readonly birthtime: Date;
  readonly #type: StatReply['type'];
  constructor(s: StatReply) {
    this.size = s.size; this.mode = s.mode; this.#type = s.type;
    this.mtimeMs = s.mtimeMs; this.atimeMs = s.atimeMs; this.ctimeMs = s.ctimeMs; this.birthtimeMs = s.birthtimeMs;
    this.mtime = new Date(s.mtimeMs); this.atime = new Date(s.atimeMs); this.ctime = new Date(s.ctimeMs); this.birthtime = new Date(s.birthtimeMs);
  }
  isFile() { return this.#type === 'file'; }
  isDirectory() { return this.#type === 'directory'; }
  isSymbolicLink() { return this.#type === 'symlink'; }
}

class Dirent {
  constructor(readonly name: string, readonly parentPath: string, readonly type: StatReply['type']) {}
  isFile() { return this.type === 'file'; }
  isDirectory() { return this.type === 'directory'; }
  isSymbolicLink() { return this.type === 'symlink'; }
}

const sync = {
  readFileSync(p: unknown, options?: EncodingOption): string | Uint8Array {
    const encoding = encodingOf(options);
    const text = encoding === 'utf8' || encoding === 'utf-8';
    const data = call('readFile', { path: pathArg(p), encoding: text ? 'utf8' : 'base64' }) as string;
    if (text || encoding === 'base64') return data;
    if (encoding === 'latin1') return String.fromCharCode(...base64ToBytes(data));
    return base64ToBytes(data);
  },
  writeFileSync(p: unknown, data: Data, options?: EncodingOption): void {
    const flag = typeof options === 'object' && options !== null ? options.flag : undefined;
    call(flag?.startsWith('a') ? 'appendFile' : 'writeFile', { path: pathArg(p), ...encodeData(data, options) });
  },
  appendFileSync(p: unknown, data: Data, options?: EncodingOption): void {
    call('appendFile', { path: pathArg(p), ...encodeData(data, options) });
  },
  readdirSync(p: unknown, options?: { withFileTypes?: boolean } | Encoding): string[] | Dirent[] {
    const entries = call('readdir', { path: pathArg(p) }) as { name: string; type: StatReply['type'] }[];
    if (typeof options === 'object' && options?.withFileTypes) return entries.map((e) => new Dirent(e.name, pathArg(p), e.type));
    return entries.map((e) => e.name);
  },
  statSync(p: unknown): Stats { return new Stats(call('stat', { path: pathArg(p) }) as StatReply); },
  lstatSync(p: unknown): Stats { return new Stats(call('lstat', { path: pathArg(p) }) as StatReply); },
  existsSync(p: unknown): boolean {
    try { return call('exists', { path: pathArg(p) }) as boolean; } catch { return false; }
  },
  mkdirSync(p: unknown, options?: { recursive?: boolean } | number): string | undefined {
    const recursive = typeof options === 'object' && options.recursive === true;
    return (call('mkdir', { path: pathArg(p), recursive }) as string | null) ?? undefined;
  },
  rmSync(p: unknown, options?: { recursive?: boolean; force?: boolean }): void {
    call('rm', { path: pathArg(p), recursive: options?.recursive === true, force: options?.force === true });
  },
  rmdirSync(p: unknown): void { call('rmdir', { path: pathArg(p) }); },
  unlinkSync(p: unknown): void { call('unlink', { path: pathArg(p) }); },
  renameSync(from: unknown, to: unknown): void { call('rename', { from: pathArg(from), to: pathArg(to) }); },
  accessSync(p: unknown): void { call('stat', { path: pathArg(p) }); },
};

type SyncName = keyof typeof sync;
type AsyncName = SyncName extends `${infer N}Sync` ? N : never;
const names = Object.keys(sync).map((k) => k.slice(0, -4)) as AsyncName[];

type AnyFn = (...args: unknown[]) => unknown;
const syncFn = (name: AsyncName) => (sync as unknown as Record<string, AnyFn>)[`${name}Sync`]!;

/** fs.promises: the synchronous core behind a promise (the host call itself is synchronous). */
const promises: Record<string, AnyFn> = Object.fromEntries(
  names.map((name) => [name, async (...args: unknown[]) => syncFn(name)(...args)]),
);
// Not in Node's fs.promises, but Capsule task authors use it: resolves to a boolean, never rejects.
promises.exists = async (p: unknown) => sync.existsSync(p);

/** Callback flavour: the last argument is a Node-style callback, called asynchronously. */
const callbacks: Record<string, AnyFn> = Object.fromEntries(
  names.map((name) => [name, (...args: unknown[]) => {
    const callback = args.pop();
    if (typeof callback !== 'function') throw new TypeError(`fs.${name}: the last argument must be a callback`);
    queueMicrotask(() => {
      let value: unknown;
      try { value = syncFn(name)(...args); } catch (error) { callback(error); return; }
      callback(null, value);
    });
  }]),
);
// fs.exists(path, cb) calls back with a bare boolean (Node's legacy signature).
callbacks.exists = (p: unknown, callback: unknown) => {
  if (typeof callback === 'function') queueMicrotask(() => callback(sync.existsSync(p)));
};

const constants = { F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1 };
export const fsModule = { ...sync, ...callbacks, promises, constants, Stats, Dirent, default: undefined as unknown };
fsModule.default = fsModule;
export const fsPromisesModule = { ...promises, constants, default: promises };
