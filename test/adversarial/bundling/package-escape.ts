import { task } from 'capsule';
// declared, but its package.json's "main" points outside the package
import leak from 'escaping';

export const main = task({ name: 'main' }, () => leak);
