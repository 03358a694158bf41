import { task } from 'capsule';
// a text file: only code and JSON are bundled
import notes from './notes.txt';

export const main = task({ name: 'main' }, () => notes);
