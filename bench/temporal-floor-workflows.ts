/** Bare Temporal workflows (no Capsule code) for the floor measurement in bench/temporal-floor.ts. */
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(n: number): Promise<number> }>({ startToCloseTimeout: '10s', ...(process.env.HB ? { heartbeatTimeout: '5s' } : {}) });

export async function sequentialNoop(steps: number): Promise<number> {
  let x = 0;
  for (let i = 0; i < steps; i++) x = await noop(x);
  return x;
}

export async function fanOutNoop(steps: number): Promise<number> {
  return (await Promise.all(Array.from({ length: steps }, (_, i) => noop(i)))).length;
}
