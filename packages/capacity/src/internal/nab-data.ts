// Test support: the NAB series shared with the project (../shared/data/nab beside the repository, or $OPS_NAB_DIR).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCsvSeries, regularizeSeries, type Series } from '../inputs/series.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const candidates = [process.env['OPS_NAB_DIR'], join(here, '../../../../../shared/data/nab')].filter(
  (path): path is string => typeof path === 'string',
);

/** Reads a NAB file (e.g. `'nyc_taxi.csv'`) onto a regular grid; fails with a message saying where it looked. */
export function loadNab(file: string): Series & { stepMs: number; filled: number } {
  const directory = candidates.find((path) => existsSync(join(path, file)));
  if (!directory)
    throw new Error(
      `NAB file ${file} not found in ${candidates.join(' or ')}: set OPS_NAB_DIR to the folder of the NAB CSV files`,
    );
  return regularizeSeries(parseCsvSeries(readFileSync(join(directory, file), 'utf8'), { name: file }));
}
