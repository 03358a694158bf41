import { task } from 'capsule';

/** Turns a topic into sub-questions: the list the next step fans out over. */
export const main = task({ name: 'main', compute: 'LOW', ram: '64MB', timeout: '10s' }, async (input: { topic: string; angles: string[] }) =>
  input.angles.map((angle) => ({ angle, question: `What does ${angle} mean for ${input.topic}?` })));
