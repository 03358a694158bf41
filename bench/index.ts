/** `npm run bench`: every benchmark, printed as Markdown tables for docs/benchmarks.md; `npm run bench -- host` runs one. */
import { benchAgent } from './agent.js';
import { benchBoundary } from './boundary.js';
import { benchEgress } from './egress.js';
import { benchHost } from './host.js';
import { benchHeartbeat } from './heartbeat.js';
import { benchMcp } from './mcp.js';
import { benchPayloads } from './payloads.js';
import { benchPython } from './python.js';
import { benchSandbox } from './sandbox.js';
import { benchTemporal } from './temporal.js';
import { benchVersus } from './versus.js';

const benches: Array<[name: string, title: string, run: () => Promise<unknown>]> = [
  ['sandbox', 'Sandbox', benchSandbox],
  ['python', 'Python sandbox', benchPython],
  ['boundary', 'Data across the sandbox boundary', benchBoundary],
  ['egress', 'Network egress', benchEgress],
  ['temporal', 'Pipelines on Temporal', benchTemporal],
  ['payloads', 'Large payloads: codec and claim-check', benchPayloads],
  ['heartbeat', 'Heartbeats on a busy machine', benchHeartbeat],
  ['mcp', 'MCP server', benchMcp],
  ['agent', 'Code steps', benchAgent],
  ['host', 'Host API: exec', benchHost],
  ['versus', 'Against the original Capsule', benchVersus],
];
const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !benches.some(([known]) => known === name));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}; have: ${benches.map(([name]) => name).join(', ')}\n`);
  process.exit(2);
}
let first = true;
for (const [name, title, run] of benches) {
  if (chosen.length > 0 && !chosen.includes(name)) continue;
  process.stdout.write(`${first ? '' : '\n'}## ${title}\n\n`);
  first = false;
  await run();
}
process.exit(0);
