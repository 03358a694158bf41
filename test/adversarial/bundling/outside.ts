import { task } from 'capsule';
// the file exists only in the test's layout, and must never be read
import secret from '../../outside/secret.txt';

export const main = task({ name: 'main' }, () => secret);
