/** `npm run bench`: every benchmark, printed as Markdown tables for docs/benchmarks.md. */
import { benchAgent } from './agent.js';
import { benchEgress } from './egress.js';
import { benchHeartbeat } from './heartbeat.js';
import { benchMcp } from './mcp.js';
import { benchPayloads } from './payloads.js';
import { benchPython } from './python.js';
import { benchSandbox } from './sandbox.js';
import { benchTemporal } from './temporal.js';

process.stdout.write('## Sandbox\n\n');
await benchSandbox();
process.stdout.write('\n## Python sandbox\n\n');
await benchPython();
process.stdout.write('\n## Network egress\n\n');
await benchEgress();
process.stdout.write('\n## Pipelines on Temporal\n\n');
await benchTemporal();
process.stdout.write('\n## Large payloads: codec and claim-check\n\n');
await benchPayloads();
process.stdout.write('\n## Heartbeats on a busy machine\n\n');
await benchHeartbeat();
process.stdout.write('\n## MCP server\n\n');
await benchMcp();
process.stdout.write('\n## Code steps\n\n');
await benchAgent();
process.exit(0);
