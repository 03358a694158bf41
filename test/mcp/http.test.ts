/**
 * What only `capsule mcp --http` has (server.test.ts runs the tool battery over both transports): several client
 * sessions, each with its own MCP server over one shared sandbox and session store; Host and Origin checks; loopback
 * addresses only.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, capsuleBin, connectHttp, execute, serverDir, startHttpServer } from './helpers.js';

const server = serverDir();
let running: Awaited<ReturnType<typeof startHttpServer>>;

beforeAll(async () => {
  running = await startHttpServer(server.dir, ['--max-compute', 'HIGH', '--max-timeout', '2s']);
});
afterAll(async () => {
  await running?.stop();
  server.cleanup();
});

describe('capsule mcp --http', () => {
  it('keeps a session\'s files across client sessions, and answers after an infinite loop', async () => {
    const first = await connectHttp(running.url);
    const second = await connectHttp(running.url);
    try {
      await execute(first.client, 'execute_python', { code: 'open("workspace/shared.txt", "w").write("kept")', session: 'shared' });
      const looped = await execute(first.client, 'execute_javascript', { code: 'for (;;) {}', session: 'shared', limits: { compute: 'HIGH' } });
      expect(looped.envelope.error?.error_type).toBe('timeout');
      const read = await call(second.client, 'session_read', { session: 'shared', path: 'shared.txt' });
      expect(read.structuredContent).toMatchObject({ content: 'kept' });
      const again = await execute(second.client, 'execute_javascript', { code: 'import fs from "fs"; console.log(fs.readFileSync("workspace/shared.txt", "utf8"))', session: 'shared' });
      expect(again.envelope.result).toBe('kept\n');
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('refuses requests whose Host or Origin is not the loopback address it serves (DNS rebinding)', async () => {
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    // node:http, not fetch: fetch does not let a caller set Host (a browser page reached by DNS rebinding does).
    const post = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const request = http.request(running.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on('error', reject);
        request.end(JSON.stringify(initialize));
      });
    expect(await post({ host: `attacker.example:${running.url.port}` })).toBe(403);
    expect(await post({ origin: 'http://attacker.example' })).toBe(403);
    expect(await post({ origin: `http://localhost:${running.url.port}` })).toBe(200);
    expect(await post({})).toBe(200);
    expect((await fetch(new URL('/other', running.url))).status).toBe(404);
    expect((await fetch(running.url, { method: 'POST', headers: { 'content-type': 'application/json', 'mcp-session-id': 'made-up' }, body: '{}' })).status).toBe(404);
  });

  it('will not listen on an address other than loopback', async () => {
    const run = promisify(execFile);
    const failure = await run(process.execPath, [capsuleBin, 'mcp', '--http', '0.0.0.0:0'], { cwd: server.dir }).catch((error: unknown) => error as { code: number; stderr: string });
    expect(failure).toMatchObject({ code: 2, stderr: expect.stringMatching(/"0\.0\.0\.0" is not a loopback address/) });
  });
});
