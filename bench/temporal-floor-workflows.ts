/** Bare Temporal workflows (no Capsule code) for the floor measurement in bench/temporal-floor.ts. */
import { proxyActivities } from '@temporalio/workflow';

const plain = proxyActivities<{ noop(n: number): Promise<number> }>({ startToCloseTimeout: '10s' });
// Capsule's steps carry a heartbeat timeout (dead-worker detection); the server keeps a timer per activity for it.
const watched = proxyActivities<{ noop(n: number): Promise<number> }>({ startToCloseTimeout: '10s', heartbeatTimeout: '5s' });

export async function sequentialNoop(steps: number, heartbeat = false): Promise<number> {
  const { noop } = heartbeat ? watched : plain;
  let x = 0;
  for (let i = 0; i < steps; i++) x = await noop(x);
  return x;
}

export async function fanOutNoop(steps: number, heartbeat = false): Promise<number> {
  const { noop } = heartbeat ? watched : plain;
  return (await Promise.all(Array.from({ length: steps }, (_, i) => noop(i)))).length;
}
