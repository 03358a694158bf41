/** `npm run bench`: every benchmark, printed as Markdown tables for docs/benchmarks.md. */
import { benchSandbox } from './sandbox.js';

process.stdout.write('## Sandbox\n\n');
await benchSandbox();
process.exit(0);
