/** The sub-task endpoint decodes a request's bytes once, so characters split between TCP chunks arrive whole. */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubtaskServer } from '../../src/sandbox/subtask-server.js';
import type { Envelope } from '../../src/sandbox/index.js';

let server: SubtaskServer;
beforeAll(async () => {
  server = await SubtaskServer.start();
});
afterAll(() => server.close());

/** POSTs `parts` as separate writes (a pause between them so they arrive as separate chunks); resolves to the reply. */
function post(path: string, parts: Buffer[]): Promise<{ status: number; body: string }> {
  const [host, port] = server.authority.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.flushHeaders();
    const write = (i: number) => {
      if (i === parts.length) return void req.end();
      req.write(parts[i]);
      setTimeout(() => write(i + 1), 50);
    };
    write(0);
  });
}

describe('the sub-task server', () => {
  it('receives a multi-byte character split across two request chunks intact', async () => {
    const received: unknown[][] = [];
    const registration = server.register(async (_task, args) => {
      received.push(args);
      return { success: true, result: args, error: null } as unknown as Envelope;
    });
    try {
      const text = 'naïve café — 日本語 🚀';
      const body = Buffer.from(JSON.stringify({ args: [text] }));
      // Split inside the 4-byte emoji and inside a 3-byte CJK character: each half alone is not valid UTF-8.
      const emoji = body.indexOf(Buffer.from('🚀'));
      const cjk = body.indexOf(Buffer.from('本'));
      const parts = [body.subarray(0, cjk + 1), body.subarray(cjk + 1, emoji + 2), body.subarray(emoji + 2)];
      expect(parts.map((p) => p.toString('utf8')).join('')).not.toBe(JSON.stringify({ args: [text] }));
      const reply = await post(`/subtask/${registration.token}/child`, parts);
      expect(reply.status).toBe(200);
      expect(received).toEqual([[text]]);
      expect(JSON.parse(reply.body)).toMatchObject({ result: [text] });
    } finally {
      registration.close();
    }
  });

  it('refuses unknown tokens and bodies that are not JSON', async () => {
    expect((await post(`/subtask/${'0'.repeat(48)}/child`, [Buffer.from('{}')])).status).toBe(403);
    const registration = server.register(async () => ({}) as Envelope);
    try {
      expect(await post(`/subtask/${registration.token}/child`, [Buffer.from('{not json')])).toMatchObject({ status: 400 });
    } finally {
      registration.close();
    }
  });
});
