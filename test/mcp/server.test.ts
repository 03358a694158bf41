/**
 * `capsule mcp` as a subprocess, driven by the SDK's Client over stdio and over Streamable HTTP (the same battery
 * for each): tools, both languages, scripts, hostile code (the server keeps answering), ceilings, sessions with their
 * quota, the server's shared files, and protocol errors.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { McpError, CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connectHttp, connectStdio, execute, serverDir, startHttpServer, textOf, type Connected } from './helpers.js';

const ARGS = ['--root', '.', '--max-compute', 'HIGH', '--max-ram', '128MB', '--max-timeout', '20s', '--max-output', '16KB', '--session-quota', '64KB', '--allow-host', 'api.example.com'];

for (const transport of ['stdio', 'http'] as const) describe(`over ${transport}`, () => {
  const server = serverDir();
  let connected: Connected;
  let stopServer: () => Promise<void> = async () => undefined;
  const client = () => connected.client;

  beforeAll(async () => {
    if (transport === 'stdio') {
      connected = await connectStdio(server.dir, ARGS);
    } else {
      const http = await startHttpServer(server.dir, ARGS);
      stopServer = http.stop;
      connected = await connectHttp(http.url);
    }
  });
  afterAll(async () => {
    await connected?.close();
    await stopServer();
    server.cleanup();
  });

  /** The server still runs code after whatever came before. */
  async function stillAnswers(): Promise<void> {
    const { envelope } = await execute(client(), 'execute_javascript', { code: 'function main(x) { return x + 1; }', input: 1 });
    expect(envelope.result, JSON.stringify(envelope.error)).toBe(2);
  }

  describe('tools', () => {
    it('lists the tools with input schemas and descriptions a model can follow', async () => {
      const { tools } = await client().listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['approve', 'execute_javascript', 'execute_python', 'get_run', 'run_pipeline', 'session_files', 'session_read', 'session_reset', 'session_write']);
      const js = tools.find((t) => t.name === 'execute_javascript')!;
      expect(js.inputSchema.required).toEqual(['code']);
      expect(Object.keys(js.inputSchema.properties ?? {})).toEqual(['code', 'input', 'session', 'limits']);
      expect(js.outputSchema?.properties).toHaveProperty('execution');
      // The description states the contract and this server's actual ceilings.
      expect(js.description).toMatch(/function main\(input\)/);
      expect(js.description).toMatch(/memory never persist/);
      expect(js.description).toMatch(/timeout 20s; network: api\.example\.com; shared files: its directory, read-only at \.\/files\//);
      for (const name of ['session_files', 'session_write']) expect(tools.find((t) => t.name === name)!.description).toMatch(/Only files persist in a session: every run starts with fresh memory/);
    });
  });

  describe('running code', () => {
    it('returns what main returns, in JavaScript and in Python', async () => {
      const js = await execute(client(), 'execute_javascript', { code: 'export async function main(input: { xs: number[] }) { console.log("summing"); return { sum: input.xs.reduce((a, b) => a + b, 0) }; }', input: { xs: [1, 2, 3] } });
      expect(js.envelope.result).toEqual({ sum: 6 });
      expect(js.envelope.execution.stdout).toBe('summing\n');
      expect(js.text).toBe('{\n  "sum": 6\n}\n--- stdout ---\nsumming\n');
      const py = await execute(client(), 'execute_python', { code: 'import statistics\n\ndef main(input):\n    return {"mean": statistics.mean(input)}\n', input: [2, 4, 9] });
      expect(py.envelope.result).toEqual({ mean: 5 });
    });

    it('returns what a script without main prints', async () => {
      const js = await execute(client(), 'execute_javascript', { code: 'const squares = [1, 2, 3].map((n) => n * n);\nconsole.log(squares.join(" "));' });
      expect(js.envelope.result).toBe('1 4 9\n');
      expect(js.text).toBe('1 4 9\n');
      const py = await execute(client(), 'execute_python', { code: 'for word in ["a", "b"]:\n    print(word.upper())\n' });
      expect(py.envelope.result).toBe('A\nB\n');
    });

    it('reports a syntax error as invalid_task with the line', async () => {
      const js = await execute(client(), 'execute_javascript', { code: 'const ok = 1;\nconst = 2;' });
      expect(js.envelope.error).toMatchObject({ error_type: 'invalid_task', message: expect.stringMatching(/main\.ts:2:6/) });
      const py = await execute(client(), 'execute_python', { code: 'x = 1\nif x\n    pass\n' });
      expect(py.envelope.error).toMatchObject({ error_type: 'invalid_task', message: expect.stringMatching(/line 2/) });
    });
  });

  describe('hostile code', () => {
    it('stops an infinite loop at the timeout and keeps answering', async () => {
      const { envelope, text } = await execute(client(), 'execute_javascript', { code: 'while (true) {}', limits: { timeout: '2s' } });
      expect(envelope.error?.error_type).toBe('timeout');
      expect(text).toMatch(/^error \(timeout\): /);
      await stillAnswers();
    });

    // Fuel and memory bombs get the whole 20 s ceiling of wall time: on a loaded machine they must end by their own
    // limit, not by the clock.
    it('stops a fuel bomb at its compute limit', async () => {
      const { envelope } = await execute(client(), 'execute_python', { code: 'n = 0\nwhile True:\n    n += 1\n', limits: { compute: 'LOW' } });
      expect(envelope.error?.error_type).toBe('fuel_exhausted');
      expect(envelope.execution.fuel_limit).toBe(100_000_000);
      await stillAnswers();
    });

    it('stops memory bombs at the memory limit, in both languages', async () => {
      const js = await execute(client(), 'execute_javascript', { code: 'const hoard = [];\nwhile (true) hoard.push(new Array(1_000_000).fill(7));', limits: { ram: '64MB' } });
      expect(js.envelope.error?.error_type).toBe('memory_exceeded');
      const py = await execute(client(), 'execute_python', { code: 'blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))\n' });
      expect(py.envelope.error?.error_type).toBe('memory_exceeded');
      await stillAnswers();
    });

    it('cuts an output flood at the server\'s output limit', async () => {
      const { envelope, text } = await execute(client(), 'execute_javascript', { code: 'for (;;) console.log("x".repeat(1000));', limits: { timeout: '1s' } });
      expect(envelope.error?.error_type).toBe('timeout');
      expect(envelope.execution.truncated).toBe(true);
      expect(Buffer.byteLength(envelope.execution.stdout)).toBeLessThanOrEqual(16 * 1024);
      expect(text).toMatch(/output was cut/);
      await stillAnswers();
    });

    it('refuses a result larger than the server returns, saying where large outputs go', async () => {
      const { envelope } = await execute(client(), 'execute_javascript', { code: 'function main() { return "y".repeat(100_000); }' });
      expect(envelope.error).toMatchObject({ error_type: 'task_error', message: expect.stringMatching(/more than this server returns \(16KB\).*session_read/) });
    });
  });

  describe('ceilings', () => {
    it('refuses a call that asks for more than the server allows, naming each limit', async () => {
      const { envelope, text } = await execute(client(), 'execute_javascript', { code: 'function main() { return 1; }', limits: { compute: 10 ** 12, ram: '1GB', allowedHosts: ['evil.example.net'] } });
      expect(envelope.error?.error_type).toBe('permission_denied');
      expect(envelope.error?.message).toMatch(/limits\.compute: asked for 1,000,000,000,000 fuel, more than this server allows \(50,000,000,000 fuel, --max-compute\)/);
      expect(envelope.error?.message).toMatch(/limits\.ram: asked for 1GB, more than this server allows \(128MB, --max-ram\)/);
      expect(envelope.error?.message).toMatch(/"evil\.example\.net" is not a host this server allows \(api\.example\.com\)/);
      expect(text).toMatch(/^error \(permission_denied\)/);
    });

    it('runs a call that asks for less with what it asked for', async () => {
      const { envelope } = await execute(client(), 'execute_javascript', { code: 'function main() { return 1; }', limits: { compute: 'LOW', ram: '32MB', timeout: '2s' } });
      expect(envelope.execution).toMatchObject({ fuel_limit: 100_000_000, ram_limit: 32 * 1024 * 1024 });
    });

    it('gives no network beyond the allowed hosts', async () => {
      const { envelope } = await execute(client(), 'execute_javascript', { code: 'export async function main() { await fetch("http://127.0.0.1:9/"); }' });
      expect(envelope.error?.error_type).toBe('permission_denied');
      expect(envelope.execution.denials[0]).toMatchObject({ capability: 'network', target: 'http://127.0.0.1:9/' });
    });
  });

  describe('the server directory', () => {
    it('is readable at files/, without Capsule\'s state, and not writable', async () => {
      const code = `import fs from 'fs';
  export function main() {
    let write = 'written';
    try { fs.writeFileSync('files/new.txt', 'x'); } catch (error) { write = error.code; }
    return { listing: fs.readdirSync('files').sort(), readme: fs.readFileSync('files/README.txt', 'utf8'), write };
  }`;
      // A session makes .capsule/ exist in the directory.
      const { envelope } = await execute(client(), 'execute_javascript', { code, session: 'files-check' });
      expect(envelope.result).toEqual({ listing: ['README.txt', 'data'], readme: 'the server directory', write: 'EACCES' });
    });

    it('is narrowed to the directories a call lists, and never to Capsule\'s state', async () => {
      const { envelope } = await execute(client(), 'execute_python', { code: 'import json, os\nprint(os.listdir("files/data"), json.load(open("files/data/numbers.json")))\ntry:\n    open("files/README.txt")\nexcept PermissionError:\n    print("refused")\n', limits: { files: ['data'] } });
      expect(envelope.result).toBe("['numbers.json'] [3, 4, 5]\nrefused\n");
      const state = await execute(client(), 'execute_python', { code: 'print(1)', limits: { files: ['.capsule/sessions'] } });
      expect(state.envelope.error).toMatchObject({ error_type: 'permission_denied', message: expect.stringMatching(/Capsule's own state/) });
      const escape = await execute(client(), 'execute_python', { code: 'print(1)', limits: { files: ['../'] } });
      expect(escape.envelope.error?.error_type).toBe('invalid_task');
    });
  });

  describe('sessions', () => {
    it('keep files between calls, never memory', async () => {
      const first = await execute(client(), 'execute_javascript', { code: `import fs from 'fs';\nglobalThis.remembered = 'in memory';\nfs.mkdirSync('workspace/notes', { recursive: true });\nfs.writeFileSync('workspace/notes/plan.txt', 'step 1: measure');\nconsole.log('saved');`, session: 'alpha' });
      expect(first.envelope.result).toBe('saved\n');
      const second = await execute(client(), 'execute_python', { code: 'def main():\n    return open("workspace/notes/plan.txt").read()\n', session: 'alpha' });
      expect(second.envelope.result).toBe('step 1: measure');
      const third = await execute(client(), 'execute_javascript', { code: 'function main() { return typeof globalThis.remembered; }', session: 'alpha' });
      expect(third.envelope.result).toBe('undefined');
      expect(existsSync(path.join(server.dir, '.capsule/sessions/alpha/notes/plan.txt'))).toBe(true);
    });

    it('are managed with session_files, session_write, session_read and session_reset', async () => {
      const written = await call(client(), 'session_write', { session: 'beta', path: 'in/data.json', content: '{"n": 41}' });
      expect(written.isError ?? false).toBe(false);
      const used = await execute(client(), 'execute_javascript', { code: `import fs from 'fs';\nexport function main() { const { n } = JSON.parse(fs.readFileSync('workspace/in/data.json', 'utf8')); fs.writeFileSync('workspace/out.txt', String(n + 1)); return n + 1; }`, session: 'beta' });
      expect(used.envelope.result).toBe(42);
      const listed = await call(client(), 'session_files', { session: 'beta' });
      expect(listed.structuredContent).toMatchObject({ exists: true, files: [{ path: 'in', type: 'directory' }, { path: 'in/data.json', type: 'file', size: 9 }, { path: 'out.txt', type: 'file', size: 2 }], used_bytes: 11, quota_bytes: 64 * 1024 });
      const read = await call(client(), 'session_read', { session: 'beta', path: 'out.txt' });
      expect(read.structuredContent).toMatchObject({ content: '42', encoding: 'utf8', complete: true });
      const part = await call(client(), 'session_read', { session: 'beta', path: 'in/data.json', offset: 2, length: 1 });
      expect(part.structuredContent).toMatchObject({ content: 'n', complete: false, size: 9 });
      const reset = await call(client(), 'session_reset', { session: 'beta' });
      expect(reset.structuredContent).toEqual({ session: 'beta', reset: true });
      expect((await call(client(), 'session_files', { session: 'beta' })).structuredContent).toMatchObject({ exists: false, files: [] });
      const after = await execute(client(), 'execute_python', { code: 'import os\nprint(os.listdir("workspace"))\n', session: 'beta' });
      expect(after.envelope.result).toBe('[]\n');
    });

    it('hold their quota, in a call and through session_write', async () => {
      const { envelope } = await execute(client(), 'execute_python', { code: 'with open("workspace/big.bin", "wb") as f:\n    f.write(b"x" * 100_000)\n', session: 'gamma' });
      expect(envelope.error).toMatchObject({ error_type: 'task_error', message: expect.stringMatching(/ENOSPC: session "gamma" is full: this write needs 100000 more bytes and the quota is 65536 bytes/) });
      expect(envelope.execution.denials[0]).toMatchObject({ capability: 'file', target: 'workspace/big.bin' });
      const write = await call(client(), 'session_write', { session: 'gamma', path: 'big.txt', content: 'y'.repeat(70_000) });
      expect(write.isError).toBe(true);
      expect(write.structuredContent).toMatchObject({ error: { error_type: 'permission_denied', message: expect.stringMatching(/is full/) } });
      // Within the quota, the session works on.
      expect((await call(client(), 'session_write', { session: 'gamma', path: 'small.txt', content: 'fits' })).isError ?? false).toBe(false);
    });

    it('refuse ids that are not one plain name, before touching the disk', async () => {
      for (const session of ['../outside', 'a/b', '', '.', 'x'.repeat(65)]) {
        const result = await call(client(), 'execute_javascript', { code: 'console.log(1)', session });
        expect(result.isError, session).toBe(true);
        expect(textOf(result)).toMatch(/session/);
      }
      const read = await call(client(), 'session_read', { session: 'alpha', path: '../../capsule.toml' });
      expect(read.structuredContent).toMatchObject({ error: { error_type: 'permission_denied' } });
      expect(readdirSync(path.join(server.dir, '.capsule/sessions')).sort()).toEqual(['alpha', 'beta', 'files-check', 'gamma']);
    });
  });

  describe('protocol', () => {
    it('answers a malformed request with a protocol error, and an unknown tool with an error result', async () => {
      await expect(client().request({ method: 'tools/call', params: { arguments: {} } as never }, CallToolResultSchema)).rejects.toThrow(McpError);
      const unknown = await call(client(), 'execute_cobol', { code: 'x' });
      expect(unknown.isError).toBe(true);
      await stillAnswers();
    });
  });
});
