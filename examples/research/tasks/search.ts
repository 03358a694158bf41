import { readFileSync } from 'fs';
import { task } from 'capsule';

interface Doc { id: string; topic: string; text: string }

/** Reads the local corpus (the only directory it may see) and returns the passages matching one angle. */
export const main = task(
  { name: 'main', compute: 'LOW', ram: '64MB', timeout: '10s', allowedFiles: ['./examples/research/data'] },
  async (input: { angle: string; question: string }) => {
    const corpus = JSON.parse(readFileSync('./examples/research/data/corpus.json', 'utf8')) as Doc[];
    const hits = corpus.filter((d) => d.topic === input.angle || d.text.toLowerCase().includes(input.angle.toLowerCase()));
    console.log(`${input.angle}: ${hits.length} passage(s)`);
    return { angle: input.angle, question: input.question, passages: hits.map((d) => ({ id: d.id, text: d.text })) };
  },
);
