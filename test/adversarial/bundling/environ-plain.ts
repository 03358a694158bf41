import { task } from 'capsule';
// an absolute import of a host file
import env from '/proc/self/environ';

export const main = task({ name: 'main' }, () => env);
