/**
 * Production worker entry point: `node --import tsx worker.ts` (or `capsule worker`). Configuration comes from
 * TEMPORAL_* environment variables and capsule.toml; logs are JSON lines on stderr.
 */
import { worker } from './src/cli/commands/worker.js';

const concurrency = process.env.CAPSULE_WORKER_CONCURRENCY;
const code = await worker({
  ...(concurrency === undefined ? {} : { concurrency: Number(concurrency) }),
  ...(process.env.CAPSULE_BASE_DIR === undefined ? {} : { baseDir: process.env.CAPSULE_BASE_DIR }),
});
process.exit(code);
