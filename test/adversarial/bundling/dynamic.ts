import { task } from 'capsule';

export const main = task({ name: 'main' }, async () => {
  // compiled to a require at bundle time: the bundler resolves it, and must refuse it
  const leaked = await import('../../outside/leak.js');
  return leaked;
});
