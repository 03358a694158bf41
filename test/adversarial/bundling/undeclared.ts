import { task } from 'capsule';
// installed in node_modules by the test, but not in package.json's dependencies
import pad from 'left-pad';

export const main = task({ name: 'main' }, () => pad);
