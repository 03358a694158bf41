import { task } from 'capsule';

/**
 * Loops of different shapes, each taking its iteration count: the fuel one iteration costs shows what a fuel unit
 * buys (bench/sandbox.ts). `sum` is the loop, the one the original Capsule's `compute: "LOW"` figure uses.
 */
export const sum = task({ name: 'sum', compute: 'HIGH' }, (n: number) => {
  let s = 0;
  for (let i = 0; i < n; i++) s += i;
  return s;
});

export const strings = task({ name: 'strings', compute: 'HIGH' }, (n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += 'x';
  return s.length;
});

export const push = task({ name: 'push', compute: 'HIGH' }, (n: number) => {
  const items: number[] = [];
  for (let i = 0; i < n; i++) items.push(i);
  return items.length;
});

export const properties = task({ name: 'properties', compute: 'HIGH' }, (n: number) => {
  const point = { x: 0, y: 0 };
  for (let i = 0; i < n; i++) {
    point.x += 1;
    point.y = point.x;
  }
  return point.y;
});

function add(a: number, b: number): number {
  return a + b;
}

export const calls = task({ name: 'calls', compute: 'HIGH' }, (n: number) => {
  let s = 0;
  for (let i = 0; i < n; i++) s = add(s, i);
  return s;
});
