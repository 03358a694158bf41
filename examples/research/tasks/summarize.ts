import { task } from 'capsule';

interface Finding { angle: string; question: string; passages: { id: string; text: string }[] }

/** Joins the fanned-out findings and the editor's note into a short report. */
export const main = task({ name: 'main', compute: 'LOW', ram: '64MB', timeout: '10s' }, async (input: { topic: string; findings: Finding[]; note: { note: string } }) => {
  const lines = input.findings.map((f) => `- ${f.question} ${f.passages.length === 0 ? '(no sources)' : f.passages.map((p) => `${p.text} [${p.id}]`).join(' ')}`);
  return {
    title: `Research brief: ${input.topic}`,
    sources: [...new Set(input.findings.flatMap((f) => f.passages.map((p) => p.id)))],
    body: [...lines, '', input.note.note].join('\n'),
  };
});
