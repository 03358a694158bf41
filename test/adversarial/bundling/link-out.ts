import { task } from 'capsule';
// ./leak.js is a symbolic link to a file outside the project, made by the test
import leak from './leak.js';

export const main = task({ name: 'main' }, () => leak);
