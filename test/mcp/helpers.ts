/**
 * `capsule mcp` as a subprocess, driven by the SDK's own Client: over stdio (the client spawns it) or over
 * Streamable HTTP (the test spawns it on 127.0.0.1 with a free port and reads the address it prints).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';
import { envelopeSchema, type Envelope } from '../../src/sandbox/index.js';
import { repoRoot } from '../helpers.js';

export const capsuleBin = path.join(repoRoot, 'bin/capsule.js');

/** A server directory: capsule.toml optional, a data/ directory and a top-level file code may read with --root. */
export function serverDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-mcp-'));
  mkdirSync(path.join(dir, 'data'));
  writeFileSync(path.join(dir, 'data/numbers.json'), JSON.stringify([3, 4, 5]));
  writeFileSync(path.join(dir, 'README.txt'), 'the server directory');
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Connected {
  client: Client;
  /** Everything the server wrote to stderr so far. */
  stderr: () => string;
  close(): Promise<void>;
}

/** Spawns `capsule mcp <args>` in `cwd` and connects to it over stdio. */
export async function connectStdio(cwd: string, args: string[] = [], env: Record<string, string> = {}): Promise<Connected> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [capsuleBin, 'mcp', ...args], cwd, env: { ...inheritedEnv(), ...env }, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'capsule-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr, close: () => client.close() };
}

/** Spawns `capsule mcp --http 127.0.0.1:0 <args>`; resolves once it prints where it listens. */
export async function startHttpServer(cwd: string, args: string[] = []): Promise<{ url: URL; process: ChildProcess; stderr: () => string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [capsuleBin, 'mcp', '--http', '127.0.0.1:0', ...args], { cwd, env: inheritedEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise<URL>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(new URL(match[1]!));
    });
    child.once('exit', (code) => reject(new Error(`capsule mcp exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    process: child,
    stderr: () => stderr,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

export async function connectHttp(url: URL): Promise<Connected> {
  const client = new Client({ name: 'capsule-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  return { client, stderr: () => '', close: async () => {
    await transport.terminateSession().catch(() => undefined);
    await client.close();
  } };
}

function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** Calls a tool; the result as the SDK parsed it. */
export async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, CallToolResultSchema, { timeout: 120_000 })) as CallToolResult;
}

/** An execute tool's envelope (its structured content), checked against the envelope schema. */
export async function execute(client: Client, tool: 'execute_javascript' | 'execute_python', args: Record<string, unknown>): Promise<{ envelope: Envelope; result: CallToolResult; text: string }> {
  const result = await call(client, tool, args);
  const envelope = envelopeSchema.parse(result.structuredContent);
  expect(result.isError ?? false).toBe(!envelope.success);
  return { envelope, result, text: textOf(result) };
}

export function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}
