import { task } from 'capsule';
// A local module and a declared dependency: what the bundler must still take (the directory holds a FIFO named
// tsconfig.json, which is never read).
import { shout } from './lib/shout.js';
import config from './config.json' with { type: 'json' };
// installed by the test
import ok from 'declared-ok';

export const main = task({ name: 'main' }, () => [shout(config.greeting), ok]);
