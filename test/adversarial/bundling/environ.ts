import { task } from 'capsule';
// a text import attribute: the host's whole environment, if the bundler read it
import env from '/proc/self/environ' with { type: 'text' };

export const main = task({ name: 'main' }, () => env);
