import { task } from 'capsule';

/** Writes (or rewrites) a draft, folding in the critics' notes. A stand-in for a model call. */
export const main = task({ name: 'main', compute: 'LOW', ram: '64MB', timeout: '10s' }, async (input: { topic: string; notes: string[] }) => {
  const base = `A short piece on ${input.topic}.`;
  return input.notes.length === 0 ? base : `${base} Revised for: ${input.notes.join('; ')}.`;
});
