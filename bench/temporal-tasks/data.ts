import { task } from 'capsule';

/** Returns `mb` MiB of hex (gzip halves it): the value the payload benchmark moves between two steps. */
export const produce = task({ name: 'produce', compute: 'HIGH', ram: '256MB', timeout: '60s' }, (mb: number) => {
  let x = 7;
  let block = '';
  for (let i = 0; i < 65536; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    block += '0123456789abcdef'[x & 15];
  }
  return block.repeat(mb * 16);
});

/** Receives the value (as its input) and returns its length. */
export const consume = task({ name: 'consume', compute: 'HIGH', ram: '256MB', timeout: '60s' }, (value: string) => value.length);
