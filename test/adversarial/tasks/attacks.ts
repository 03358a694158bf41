/**
 * Attacks from inside a JavaScript guest (test/adversarial/suite.test.ts runs them). Each task tries one class of
 * escape and reports what it saw, so the test can assert on the guest's view as well as on the host's state.
 */
import { task } from 'capsule';
import fs from 'node:fs';

const rw = (path: string) => ({ path, mode: 'read-write' as const });
type Seen = Record<string, number>;
const codeOf = (error: unknown) => String((error as { code?: unknown }).code ?? 'none');

/** Reads and writes through names a racer on the host keeps swapping between files, links out and hard links. */
export const race = task({ name: 'race', compute: 'HIGH', timeout: '90s', allowedFiles: [rw('./data')] }, (iterations: number) => {
  const seen: Seen = { inside: 0, leaked: 0, writes: 0 };
  const count = (key: string) => (seen[key] = (seen[key] ?? 0) + 1);
  for (let i = 0; i < iterations; i++) {
    for (const target of ['./data/race/file', './data/race/dir/secret.txt']) {
      try {
        count(fs.readFileSync(target, 'utf8').includes('HOST SECRET') ? 'leaked' : 'inside');
      } catch (error) {
        count(`read ${codeOf(error)}`);
      }
    }
    try {
      fs.writeFileSync('./data/race/wfile', `guest write ${i}`);
      count('writes');
    } catch (error) {
      count(`write ${codeOf(error)}`);
    }
    try {
      fs.writeFileSync('./data/race/dir/new.txt', `guest write ${i}`);
      count('writes');
    } catch (error) {
      count(`write ${codeOf(error)}`);
    }
  }
  return seen;
});

/** Special files in a granted directory: every call must come back at once, refused. */
export const special = task({ name: 'special', allowedFiles: [rw('./data')], timeout: '20s' }, (names: string[]) => {
  const outcome: Record<string, string> = {};
  const attempt = (label: string, action: () => unknown) => {
    try {
      action();
      outcome[label] = 'ok';
    } catch (error) {
      outcome[label] = `${codeOf(error)}: ${String((error as Error).message)}`;
    }
  };
  for (const name of names) {
    attempt(`read ${name}`, () => fs.readFileSync(`./data/${name}`));
    attempt(`write ${name}`, () => fs.writeFileSync(`./data/${name}`, 'x'));
    attempt(`append ${name}`, () => fs.appendFileSync(`./data/${name}`, 'x'));
  }
  attempt('readdir', () => fs.readdirSync('./data'));
  return outcome;
});

/** Grant roots and the directories holding them: nothing may move or remove them; the nested read-only one stays so. */
export const roots = task(
  { name: 'roots', allowedFiles: [rw('./work'), { path: './work/ref', mode: 'read-only' as const }] },
  () => {
    const outcome: Record<string, string> = {};
    const attempt = (label: string, action: () => unknown) => {
      try {
        action();
        outcome[label] = 'ok';
      } catch (error) {
        outcome[label] = codeOf(error);
      }
    };
    attempt('write into the nested read-only grant', () => fs.writeFileSync('./work/ref/new.txt', 'x'));
    attempt('remove a file of the nested read-only grant', () => fs.unlinkSync('./work/ref/kept.txt'));
    attempt('rename the nested grant', () => fs.renameSync('./work/ref', './work/moved'));
    attempt('rename a file over the nested grant', () => fs.renameSync('./work/plain.txt', './work/ref'));
    attempt('remove the nested grant', () => fs.rmdirSync('./work/ref'));
    attempt('rm -r the grant holding it', () => fs.rmSync('./work', { recursive: true, force: true }));
    attempt('rm -r the nested grant', () => fs.rmSync('./work/ref', { recursive: true, force: true }));
    attempt('rename the outer grant', () => fs.renameSync('./work', './elsewhere'));
    attempt('write in the outer grant', () => fs.writeFileSync('./work/plain.txt', 'written'));
    return outcome;
  },
);

/** Breaks the runner's own serialisation, so what comes back across the boundary is not what the host expects. */
export const malformed = task({ name: 'malformed' }, (mode: string) => {
  const proto = Object.prototype as { toJSON?: () => unknown };
  if (mode === 'undefined-reply') proto.toJSON = () => undefined;
  if (mode === 'null-failure') {
    proto.toJSON = () => null;
    throw new Error('the runner reports this as null');
  }
  if (mode === 'replaced-stringify') {
    JSON.stringify = () => 'not json at all {{{';
    return { fine: true };
  }
  if (mode === 'replaced-encoder') {
    // The reply leaves as bytes the runner encodes with the encoder it took before any task code ran, and the glue
    // copies them into guest memory with its own realm's Uint8Array, not the task's.
    TextEncoder.prototype.encode = () => new Uint8Array([0xff, 0x7b, 0x7b]);
    (Uint8Array.prototype as { set: unknown }).set = () => undefined;
    return { fine: true };
  }
  if (mode === 'garbage-file-call') {
    // A file call's arguments are the task's own bytes: garbage in them is the task's error, never the host's.
    TextEncoder.prototype.encode = () => new Uint8Array([0xff, 0xfe, 0x00, 0x7b]);
    try {
      fs.writeFileSync('./anything.txt', 'x');
      return 'written';
    } catch (error) {
      return codeOf(error);
    }
  }
  if (mode === 'deep-result') {
    let deep: unknown[] = [];
    for (let i = 0; i < 5000; i++) deep = [deep];
    return deep;
  }
  return { mode };
});

/** Results and thrown values JSON has no spelling for. */
export const values = task({ name: 'values' }, (mode: string): unknown => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  switch (mode) {
    case 'function': return () => 1;
    case 'symbol': return Symbol('s');
    case 'undefined': return undefined;
    case 'bigint': return 10n;
    case 'cyclic': return cyclic;
    case 'throw-symbol': throw Symbol('thrown');
    case 'throw-undefined': throw undefined;
    case 'throw-null': throw null;
    case 'throw-hostile': throw { toString() { throw new Error('no'); }, toJSON() { throw new Error('no'); } };
    case 'throw-proxy': throw new Proxy({}, { get() { throw new Error('trap'); }, getPrototypeOf() { throw new Error('trap'); } });
    default: return mode;
  }
});

/** Floods stdout and stderr, then fails with a huge message (the stack ends stderr). */
export const noisy = task({ name: 'noisy' }, (megabytes: number) => {
  const chunk = 'x'.repeat(1024 * 1024);
  for (let i = 0; i < megabytes; i++) {
    console.log(chunk);
    console.error(chunk);
  }
  throw new Error('y'.repeat(megabytes * 1024 * 1024));
});

export const sleeper = task({ name: 'sleeper', compute: 'HIGH', timeout: '5m' }, async () => {
  for (;;) await new Promise((resolve) => setTimeout(resolve, 5));
});

/** Starts children that never end, then gets stopped by its own timeout: the children must go with it. */
export const abandon = task({ name: 'abandon', compute: 'HIGH', timeout: '3s' }, async (children: number) => {
  await Promise.all(Array.from({ length: children }, () => sleeper()));
});

/** Asks for far more than its caller has. */
export const greedy = task(
  {
    name: 'greedy', compute: 'HIGH', ram: '1GB', timeout: '5m',
    allowedFiles: [rw('./data'), rw('./out')], allowedHosts: ['*.example.com', 'api.other.org'], envVariables: ['HOME', 'PATH'],
  },
  () => {
    let wrote = 'no';
    try {
      fs.writeFileSync('./data/greedy.txt', 'x');
      wrote = 'yes';
    } catch (error) {
      wrote = codeOf(error);
    }
    return { wrote, path: process.env.PATH ?? null };
  },
);

export const frugal = task(
  { name: 'frugal', compute: 'LOW', ram: '64MB', timeout: '20s', allowedFiles: ['./data'], allowedHosts: ['api.example.com'], envVariables: ['HOME'] },
  () => greedy(),
);

/** Bulk memory work in a loop: each pass is one memory.fill / memory.copy in the engine. */
export const bulk = task({ name: 'bulk', compute: 'LOW', ram: '128MB', timeout: '60s' }, (mode: string) => {
  const bytes = new Uint8Array(32 * 1024 * 1024);
  for (let i = 0; ; i++) {
    if (mode === 'fill') bytes.fill(i & 0xff);
    else bytes.copyWithin(0, 1);
  }
});

/** Host calls in a loop: each costs the host real work, so each costs fuel. */
export const hostCalls = task({ name: 'hostCalls', compute: 'LOW', timeout: '60s', allowedFiles: ['./data'] }, () => {
  for (;;) fs.existsSync('./data/input.txt');
});

/** Talks to the sub-task endpoint directly, with bodies no SDK would send. */
export const subtaskGarbage = task({ name: 'subtaskGarbage', timeout: '30s' }, async () => {
  const post = async (name: string, body: string) => {
    const response = await fetch(`http://capsule-subtask.internal/${name}`, { method: 'POST', body });
    return `${response.status} ${(await response.text()).slice(0, 120)}`;
  };
  return {
    notJson: await post('values', 'not json'),
    deep: await post('values', `{"args":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`),
    nullBody: await post('values', 'null'),
    wrongShape: await post('values', '{"args":{"a":1}}'),
    badName: await post('%E0%A4%A', '{"args":[]}'),
    fine: await post('values', '{"args":["ok"]}'),
  };
});

/** Writes terminal control sequences: OSC 52 (clipboard), erase line, cursor moves, an 8-bit CSI, a bidi override. */
export const terminal = task({ name: 'terminal' }, () => {
  const nasty = '\x1b]52;c;Y2xpcGJvYXJk\x07\x1b[2K\x1b[1A\u009b31m\u202eevil';
  console.log(nasty);
  console.error(nasty);
  throw new Error(nasty);
});

/** Writes where it is told: its directories come from mounts only. */
export const writer = task({ name: 'writer' }, (target: string) => {
  try {
    fs.writeFileSync(target, 'written by the guest');
    return 'ok';
  } catch (error) {
    return codeOf(error);
  }
});

export const hello = task({ name: 'hello' }, (name: string) => `hello ${name}`);
