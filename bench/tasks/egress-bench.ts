import { task } from 'capsule';

/** `n` sequential GETs; the host measures the run. Hosts come from the run's defaults (the server's port). */
export const fetches = task({ name: 'fetches', compute: 'HIGH' }, async (url: string, n: number) => {
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += (await (await fetch(url)).text()).length;
  return bytes;
});
