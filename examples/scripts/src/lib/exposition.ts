// A reader for the Prometheus text exposition format a service serves on /metrics (prom-client's output): enough
// to pick gauges and counters by name and labels in a one-shot script, without a Prometheus server.

/** One sample: metric name, labels and value. */
export interface ExpositionSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses exposition text into samples; comments and malformed lines are skipped. */
export function parseExposition(text: string): ExpositionSample[] {
  const samples: ExpositionSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line.trim());
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(LABEL)) {
      labels[label[1] as string] = (label[2] as string).replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    const raw = match[3] as string;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name: match[1] as string, labels, value });
  }
  return samples;
}

/** Samples named `name` whose labels include every pair of `where`. */
export function samplesOf(
  samples: readonly ExpositionSample[],
  name: string,
  where: Record<string, string> = {},
): ExpositionSample[] {
  return samples.filter(
    (sample) => sample.name === name && Object.entries(where).every(([key, value]) => sample.labels[key] === value),
  );
}

/** Sum of the values of {@link samplesOf}. */
export function sumOf(samples: readonly ExpositionSample[], name: string, where: Record<string, string> = {}): number {
  return samplesOf(samples, name, where).reduce((total, sample) => total + sample.value, 0);
}
