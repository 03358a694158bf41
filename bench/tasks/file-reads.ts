import { task } from 'capsule';
import { readFileSync } from 'node:fs';

/** File calls: each read is one host call, walked from the grant's directory descriptor (host/granted-fs.ts). */
export const main = task({ name: 'main', compute: 'HIGH', allowedFiles: ['./data'] }, (n: number) => {
  let total = 0;
  for (let i = 0; i < n; i++) total += readFileSync('./data/nested/deeper/input.txt', 'utf8').length;
  return total;
});
