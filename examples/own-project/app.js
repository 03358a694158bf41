// The host API: Capsule from your own code, in this process.
import { Capsule } from 'capsule';

const capsule = await Capsule.connect();
try {
  const hello = await capsule.exec('./tasks/hello.ts', { name: 'Ada' });
  console.log('exec a task file:', hello.result);

  const doubled = await capsule.exec({ language: 'python', source: 'def main(input):\n    return input["n"] * 2\n' }, { n: 21 }, { compute: 'LOW' });
  console.log('exec Python code:', doubled.result);

  const run = await capsule.run('./pipeline.yaml', { name: 'Grace' });
  for await (const event of run.progress()) if (event.type === 'step') console.log(`  ${event.step}: ${event.change}`);
  console.log('pipeline:', (await run.result()).output, run.uiUrl ?? '');

  const mine = await capsule.start('greet', {
    workflows: './workflows.ts',
    tasks: { hello: './tasks/hello.ts', shout: './tasks/shout.py' },
    input: { names: ['Ada', 'Alan'] },
  });
  console.log('your workflow:', (await mine.result()).output);
} finally {
  await capsule.close();
}
