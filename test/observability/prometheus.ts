/** Reads Prometheus' text exposition format (what a scraper sees) into samples and declared types. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Metric family -> type, from `# TYPE` lines. */
  types: Map<string, string>;
  /** Sum of every sample of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
  has(name: string): boolean;
}

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of match[2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? []) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  const matches = (sample: Sample, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
  return {
    samples,
    types,
    sum: (name, labels = {}) => samples.filter((s) => s.name === name && matches(s, labels)).reduce((total, s) => total + s.value, 0),
    has: (name) => samples.some((s) => s.name === name),
  };
}
