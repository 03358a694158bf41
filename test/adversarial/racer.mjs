// The host-side half of the symbolic-link race (test/adversarial/grants.ts): inside a granted directory, keeps
// swapping names between a regular file, a link to a file outside the grant, a hard link to one, and a directory
// and a link to a directory outside, as fast as it can, until it is told to stop (SIGTERM). Prints how many swaps
// it made. Usage: node racer.mjs <race dir> <outside dir>
import fs from 'node:fs';
import path from 'node:path';

const [raceDir, outsideDir] = process.argv.slice(2);
const at = (name) => path.join(raceDir, name);
const secret = path.join(outsideDir, 'secret.txt');
const writable = path.join(outsideDir, 'target.txt');
let swaps = 0;
let stop = false;
process.on('SIGTERM', () => (stop = true));

const quietly = (action) => {
  try {
    action();
  } catch {
    // The guest may hold a name for a moment (or have removed it): the race goes on.
  }
};

function step() {
  // ./file: a regular file or a link out, swapped atomically by rename.
  quietly(() => fs.symlinkSync(secret, at('.link')));
  quietly(() => fs.renameSync(at('.link'), at('file')));
  quietly(() => fs.writeFileSync(at('.file'), 'inside'));
  quietly(() => fs.renameSync(at('.file'), at('file')));
  // ./wfile: the guest writes it; it is in turn a link out, a hard link to a file outside, and a regular file.
  quietly(() => fs.symlinkSync(writable, at('.wlink')));
  quietly(() => fs.renameSync(at('.wlink'), at('wfile')));
  quietly(() => fs.linkSync(writable, at('.whard')));
  quietly(() => fs.renameSync(at('.whard'), at('wfile')));
  quietly(() => fs.writeFileSync(at('.wfile'), 'inside'));
  quietly(() => fs.renameSync(at('.wfile'), at('wfile')));
  // ./dir: a real directory or a link to the outside directory.
  quietly(() => fs.renameSync(at('dir'), at('.dir')));
  quietly(() => fs.symlinkSync(outsideDir, at('dir')));
  quietly(() => fs.unlinkSync(at('dir')));
  quietly(() => fs.renameSync(at('.dir'), at('dir')));
  swaps++;
}

function loop() {
  const until = Date.now() + 20;
  while (Date.now() < until) step();
  if (stop) {
    process.stdout.write(JSON.stringify({ swaps }));
    process.exit(0);
  }
  setImmediate(loop);
}
process.stdout.write('ready\n');
loop();
