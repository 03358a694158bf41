import { task } from 'capsule';
// declared, but its index.js is a symbolic link to /proc/self/environ
import env from 'linked';

export const main = task({ name: 'main' }, () => env);
