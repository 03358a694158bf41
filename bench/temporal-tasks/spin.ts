import { task } from 'capsule';

/** Keeps its guest busy on the CPU for `iterations` rounds (~50 ms per million on an idle core). */
export const main = task({ name: 'main', compute: 50_000_000_000, ram: '64MB', timeout: '10m' }, (input: { iterations: number }) => {
  let x = 0;
  for (let i = 0; i < input.iterations; i++) x = (x + i) % 1_000_003;
  return x;
});
