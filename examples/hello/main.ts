import { task } from 'capsule';
import { readFile } from 'node:fs/promises';

/** A sub-task: runs in its own fresh sandbox with its own (smaller) limits. */
export const shout = task({ name: 'shout', compute: 'LOW', ram: '32MB' }, (text: string) => text.toUpperCase());

export const main = task(
  { name: 'main', compute: 'LOW', ram: '64MB', timeout: '10s', allowedFiles: ['./data'] },
  async (input: { name?: string } = {}) => {
    const greeting = (await readFile('./data/greeting.txt', 'utf8')).trim();
    console.log(`read ${greeting.length} characters from ./data/greeting.txt`);
    const loud = await shout(`${greeting}, ${input.name ?? 'world'}`);
    return { message: loud.result, subTaskFuel: loud.execution.fuel_consumed };
  },
);
