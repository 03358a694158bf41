import { task } from 'capsule';

/** Runs until it is stopped: for cancelling a run. */
export const main = task({ name: 'main', compute: 'HIGH', timeout: '60s' }, () => {
  let n = 0;
  for (;;) n++;
});
