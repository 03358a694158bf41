/**
 * The MCP server (issue 16): 200 sequential execute_javascript calls through one `capsule mcp` process over stdio,
 * from the SDK's Client, against the same program run in-process through bundleSource + Sandbox.run (the floor: what
 * a call costs without the protocol, the process boundary and the tool layer). Calls in a session add the session's
 * queue, its quota measured from disk and a read-write mount.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { bundleSource, Sandbox } from '../src/sandbox/index.js';
import { ms, percentile, summary, tableWriter, timed } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CALLS = 200;
const WARM_UP = 20;
const CODE = 'function main(input) { return { doubled: input.n * 2 }; }';

export async function benchMcp(): Promise<string[]> {
  const { lines, out } = tableWriter();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-mcp-'));
  const transport = new StdioClientTransport({ command: process.execPath, args: [path.join(here, '../bin/capsule.js'), 'mcp'], cwd: dir, stderr: 'ignore' });
  const client = new Client({ name: 'capsule-bench', version: '1.0.0' });
  const sandbox = await Sandbox.create();
  try {
    await client.connect(transport);
    const viaMcp = async (i: number, session?: string) => {
      const result = await client.callTool({ name: 'execute_javascript', arguments: { code: CODE, input: { n: i }, ...(session ? { session } : {}) } });
      if (result.isError) throw new Error(`call ${i} failed: ${JSON.stringify(result.content)}`);
    };
    const inProcess = async (i: number) => {
      const bundle = await bundleSource({ language: 'typescript', source: CODE });
      const envelope = await sandbox.run({ bundle, args: [{ n: i }], baseDir: dir, options: { compute: 'LOW', timeout: '10s' }, withoutMain: 'script' });
      if (!envelope.success) throw new Error(`run ${i} failed: ${envelope.error?.message}`);
    };
    await timed(WARM_UP, (i) => viaMcp(i));
    await timed(WARM_UP, inProcess);
    // Interleaved in blocks of 20, so both see the same machine.
    const noCode = async () => {
      await client.callTool({ name: 'session_files', arguments: { session: 'never-used' } });
    };
    const mcp: number[] = [];
    const local: number[] = [];
    const session: number[] = [];
    const protocol: number[] = [];
    for (let block = 0; block < CALLS / 20; block++) {
      mcp.push(...(await timed(20, (i) => viaMcp(i))));
      local.push(...(await timed(20, inProcess)));
      session.push(...(await timed(20, (i) => viaMcp(i, 'bench'))));
      protocol.push(...(await timed(20, noCode)));
    }
    const difference = percentile(mcp, 50) - percentile(local, 50);
    out('| measure | result | baseline (same run) |');
    out('|---|---|---|');
    out(`| execute_javascript through \`capsule mcp\` (stdio, SDK Client), ${CALLS} sequential calls | ${summary(mcp)} | bundleSource + Sandbox.run in-process: ${summary(local)} (difference at p50: ${ms(difference)}) |`);
    out(`| a tool call that runs no code (session_files of a session that does not exist), ${CALLS} calls | ${summary(protocol)} | the protocol's round trip: JSON-RPC over stdio, schema checks, one result |`);
    out(`| execute_javascript in a session (queue, quota measured, read-write mount), ${CALLS} calls | ${summary(session)} | without a session: ${summary(mcp)} |`);
    return lines;
  } finally {
    await client.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchMcp();
  process.exit(0);
}
