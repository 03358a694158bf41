/**
 * Production worker entry point: `node --import tsx worker.ts` (or `capsule worker`). Configuration comes from
 * TEMPORAL_* environment variables and capsule.toml, plus CAPSULE_WORKER_CONCURRENCY and CAPSULE_BASE_DIR;
 * logs are JSON lines on stderr. Like bin/capsule.js, an entry script: the only other place the process ends.
 */
import { z } from 'zod';
import { worker } from './src/cli/commands/worker.js';
import { firstIssue } from './src/zod-issue.js';

const envSchema = z.object({
  CAPSULE_WORKER_CONCURRENCY: z.coerce.number().int().positive('expected a positive integer').optional(),
  CAPSULE_BASE_DIR: z.string().min(1).optional(),
});

const parsed = envSchema.safeParse(process.env);
if (!parsed.success) {
  const { field, message } = firstIssue(parsed.error);
  process.stderr.write(`error: environment variable ${field}: ${message}\n`);
  process.exit(2);
}
const { CAPSULE_WORKER_CONCURRENCY: concurrency, CAPSULE_BASE_DIR: baseDir } = parsed.data;
process.exit(await worker({ ...(concurrency === undefined ? {} : { concurrency }), ...(baseDir === undefined ? {} : { baseDir }) }));
