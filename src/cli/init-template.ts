/**
 * The project `capsule init` writes, as files by relative path: a task in TypeScript and one in Python, a pipeline
 * chaining them, a workflow of one's own, a script using the host API, and a README of three commands. The one
 * generator of that skeleton: examples/own-project/ is its output (a test keeps them equal).
 */

/** The files of a new project named `name`, depending on Capsule `version`. */
export function projectFiles(name: string, version: string): Record<string, string> {
  const packageJson = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: { start: 'node app.js' },
    dependencies: { capsule: `^${version}` },
  };
  return {
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    '.gitignore': 'node_modules/\n.capsule/\n',
    'README.md': README(name),
    'tasks/hello.ts': HELLO_TS,
    'tasks/shout.py': SHOUT_PY,
    'pipeline.yaml': PIPELINE,
    'workflows.ts': WORKFLOWS,
    'app.js': APP,
  };
}

const README = (name: string) => `# ${name}

Untrusted code in fresh WebAssembly sandboxes, chained durably on Temporal, with Capsule.

\`\`\`sh
npm install                                               # Capsule, its sandbox runtimes and the Temporal CLI
npx capsule run pipeline.yaml --input '{"name":"Ada"}'    # tasks/hello.ts then tasks/shout.py, with live progress
npm start                                                 # app.js: the host API (exec, a pipeline, your workflow)
\`\`\`

- \`tasks/\`: one task per file (\`task()\` in TypeScript, \`@task\` in Python) with its limits and capabilities.
- \`pipeline.yaml\`: steps, their inputs and order. \`workflows.ts\`: a workflow in code (\`capsule/workflow\`);
  start it with \`npx capsule start greet --workflows workflows.ts --task hello=tasks/hello.ts --task shout=tasks/shout.py\`.
- With no Temporal server configured (\`TEMPORAL_ADDRESS\`, \`capsule.toml\`), Capsule runs an embedded one with its
  data in \`.capsule/\` and its Web UI at http://127.0.0.1:8233.
`;

const HELLO_TS = `import { task } from 'capsule';

/** Runs in a fresh sandbox: no files, no network, at most LOW fuel and 64 MB. */
export const main = task({ name: 'main', compute: 'LOW', ram: '64MB', timeout: '10s' }, (input: { name?: string } = {}) => {
  return { greeting: \`Hello, \${input.name ?? 'world'}!\` };
});
`;

const SHOUT_PY = `from capsule import task


@task(name="main", compute="LOW", ram="64MB", timeout="10s")
def main(input: dict) -> dict:
    """The Python step: shouts what the TypeScript step said."""
    return {"shout": input["greeting"].upper()}
`;

const PIPELINE = `name: greeting
input: { name: world }
steps:
  - id: hello
    task: ./tasks/hello.ts
    input: { name: "{{ input.name }}" }
  - id: shout
    task: ./tasks/shout.py
    input: "{{ steps.hello.output }}"
output: "{{ steps.shout.output }}"
`;

const WORKFLOWS = `// Workflow code: deterministic, replayed by Temporal. Each step runs a task in its own sandbox.
import { createSteps, type TaskWorkflowInput } from 'capsule/workflow';

export async function greet(input: TaskWorkflowInput<{ names: string[] }>) {
  const { step, result } = createSteps(input);
  const greetings = await Promise.all(input.input.names.map((name) => step(\`hello-\${name}\`, 'hello', { name })));
  const loud = await Promise.all(greetings.map((greeting, i) => step(\`shout-\${i}\`, 'shout', greeting)));
  return result(loud);
}
`;

const APP = `// The host API: Capsule from your own code, in this process.
import { Capsule } from 'capsule';

const capsule = await Capsule.connect();
try {
  const hello = await capsule.exec('./tasks/hello.ts', { name: 'Ada' });
  console.log('exec a task file:', hello.result);

  const doubled = await capsule.exec({ language: 'python', source: 'def main(input):\\n    return input["n"] * 2\\n' }, { n: 21 }, { compute: 'LOW' });
  console.log('exec Python code:', doubled.result);

  const run = await capsule.run('./pipeline.yaml', { name: 'Grace' });
  for await (const event of run.progress()) if (event.type === 'step') console.log(\`  \${event.step}: \${event.change}\`);
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
`;
