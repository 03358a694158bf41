/** The cluster test's figures: printed as a table, and recorded in docs/benchmarks.md between its markers. */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { ROOT } from './compose.js';
import type { FanOutFigures, LoadFigures, RestartFigures } from './phases.js';

export interface ClusterFigures {
  load: LoadFigures;
  baseline: LoadFigures;
  fanOut: FanOutFigures;
  restart: RestartFigures;
  temporalVersion: string;
  totalSeconds: number;
}

const BEGIN = '<!-- test:cluster figures: begin (written by npm run test:cluster) -->';
const END = '<!-- test:cluster figures: end -->';

export function renderFigures(f: ClusterFigures): string {
  const row = (name: string, l: LoadFigures) =>
    `| ${name} | ${l.pipelines} | ${l.submitSeconds.toFixed(1)} s${l.startRetries > 0 ? ` (${l.startRetries} starts timed out, sent again)` : ''} | ${l.wallSeconds.toFixed(1)} s | ${l.pipelinesPerSecond.toFixed(1)} (${l.stepsPerSecond.toFixed(0)} steps/s) | ${l.p50Seconds.toFixed(2)} s | ${l.p95Seconds.toFixed(2)} s | ${l.peakRssMb.join(' / ')} MB |`;
  const cpus = os.cpus();
  return [
    `Run of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'CPU'}, ${Math.round(os.totalmem() / 1024 ** 3)} GB, Node ${process.versions.node}, load average at the end ${os.loadavg()[0]!.toFixed(1)}; Temporal server ${f.temporalVersion} on PostgreSQL (${f.load.pipelines} pipelines of three trivial steps, 3 workers × 2 concurrent steps, blob store in PostgreSQL). Whole run: ${Math.round(f.totalSeconds)} s.`,
    '',
    '| server | pipelines | submitted in | all completed in | pipelines/s | p50 latency | p95 latency | worker peak RSS |',
    '|---|---|---|---|---|---|---|---|',
    row(`Temporal ${f.temporalVersion} + PostgreSQL`, f.load),
    row('dev server (Temporal CLI, in memory)', f.baseline),
    '',
    `Cluster / dev server: throughput ×${(f.load.pipelinesPerSecond / f.baseline.pipelinesPerSecond).toFixed(2)}, p50 latency ×${(f.load.p50Seconds / f.baseline.p50Seconds).toFixed(2)}. ` +
      `Faults: kill -9 of a worker running ${f.fanOut.itemsOnVictim} of ${f.fanOut.items} fan-out items — the fan-out finished in ${f.fanOut.seconds.toFixed(1)} s with ${f.fanOut.lostAttempts} lost attempt(s) and ${f.fanOut.extraRuns} repeated run(s), all of them recorded lost attempts; ` +
      `the Temporal server killed and restarted mid-pipeline (down ${f.restart.downSeconds.toFixed(1)} s) — the pipeline finished in ${f.restart.seconds.toFixed(1)} s, every step run once.`,
  ].join('\n');
}

export function recordFigures(f: ClusterFigures, options: { record: boolean; log: (line: string) => void }): void {
  const text = renderFigures(f);
  process.stdout.write(`\n${text}\n\n`);
  if (!options.record) return;
  const file = `${ROOT}docs/benchmarks.md`;
  const doc = readFileSync(file, 'utf8');
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start === -1 || end < start) {
    options.log(`docs/benchmarks.md has no test:cluster markers: figures not recorded`);
    return;
  }
  writeFileSync(file, `${doc.slice(0, start + BEGIN.length)}\n${text}\n${doc.slice(end)}`);
  options.log('figures recorded in docs/benchmarks.md');
}
