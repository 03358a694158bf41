/**
 * The adversarial suite: every class of escape from issue 12 this side of the network, in TypeScript and Python,
 * against one sandbox in one host process (the process that must stay healthy is the one that was attacked). The
 * network and secrets classes live beside this, in their own suite. After each class the sandbox must still run
 * tasks in both languages with its threads back to the pool; at the end no envelope may name a host directory,
 * and the health record (time, RSS, threads, exit codes of the CLI runs) is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capsuleCacheDir } from '../../src/config/paths.js';
import { defineBundlingAttacks } from './bundling.js';
import { AdversarialContext } from './context.js';
import { defineGrantAttacks } from './grants.js';
import { defineLimitAttacks } from './limits.js';
import { defineMessageAttacks } from './messages.js';

const ctx = new AdversarialContext();
beforeAll(() => ctx.setUp(), 240_000);
afterAll(async () => {
  console.log(ctx.report());
  await ctx.tearDown();
});

defineBundlingAttacks(ctx);
defineGrantAttacks(ctx);
defineMessageAttacks(ctx);
defineLimitAttacks(ctx);

describe('after every attack', () => {
  it('no envelope names a host directory', () => {
    expect(ctx.envelopes.length).toBeGreaterThan(50);
    for (const envelope of ctx.envelopes) {
      const text = JSON.stringify(envelope);
      for (const dir of [ctx.root, capsuleCacheDir()]) expect(text).not.toContain(dir);
    }
  });

  it('the host process is healthy: every class ended with the pool at its size and tasks running', () => {
    const classes = ctx.health.filter((row) => row.attacks !== '(start)').map((row) => row.attacks);
    expect(classes).toEqual(['bundling', 'grants', 'messages', 'limits']);
    for (const row of ctx.health) expect(row.threads).toBeLessThanOrEqual(ctx.sandbox.poolSize);
  });
});
