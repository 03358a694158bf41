import { task } from 'capsule';
// ./pipe.js is a FIFO made by the test: reading it would block the bundler forever
import value from './pipe.js';

export const main = task({ name: 'main' }, () => value);
