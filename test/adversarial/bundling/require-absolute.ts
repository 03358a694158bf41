import { task } from 'capsule';

declare const require: (name: string) => unknown;
const passwd = require('/etc/passwd');

export const main = task({ name: 'main' }, () => passwd);
