import { task } from 'capsule';

export const trivial = task({ name: 'trivial' }, () => 1);

/** CPU-bound: run in the sandbox and, from the same bundle, natively (bench/temporal-native.ts) for the baseline. */
export const cpu = task({ name: 'cpu', compute: 'HIGH' }, (n: number) => {
  let a = 0;
  let b = 1;
  for (let i = 0; i < n; i++) {
    const t = (a + b) % 1_000_007;
    a = b;
    b = t;
  }
  return b;
});

export const hold = task({ name: 'hold' }, async (ms: number) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
});

/** Alive until an HTTP response arrives (the bench's local server answers after a delay). */
export const holdHttp = task({ name: 'hold-http' }, async (url: string) => (await fetch(url)).text());
