import { task } from 'capsule';

/** One critic's verdict. Each critic approves once the draft mentions its concern (so the loop ends in 2 rounds). */
export const main = task({ name: 'main', compute: 'LOW', ram: '64MB', timeout: '10s' }, async (input: { draft: string; critic: string; round: number }) => {
  const approved = input.draft.includes(input.critic);
  return { critic: input.critic, approved, note: approved ? 'fine' : `say more about ${input.critic}` };
});
