import { CapacityError } from '../errors.js';

/** A time series: epoch-ms timestamps (ascending) and values. */
export interface Series {
  /** Optional name (a metric, a file). */
  name?: string;
  timestamps: number[];
  values: number[];
}

/** Options of {@link parseCsvSeries}. */
export interface CsvSeriesOptions {
  /** Header name (or 0-based index) of the time column. Default: a column named timestamp/time/date/ts, else the first. */
  timeColumn?: string | number;
  /** Header name (or index) of the value column. Default: a column named value, else the second. */
  valueColumn?: string | number;
  /** Field separator. Default `,`. */
  separator?: string;
  name?: string;
}

const TIME_NAMES = ['timestamp', 'time', 'date', 'datetime', 'ts'];

/**
 * Parses a time stamp: ISO 8601 (`2014-07-01T00:00:00Z`), a naive `YYYY-MM-DD HH:MM[:SS]` (read as UTC, like the
 * NAB files), epoch seconds (≤ 1e11) or epoch milliseconds.
 */
export function parseTimestamp(text: string): number {
  const trimmed = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) {
    const number = Number(trimmed);
    return Math.abs(number) < 1e11 ? Math.round(number * 1000) : Math.round(number);
  }
  const naive = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$/.exec(trimmed);
  if (naive) {
    const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '0'] = naive;
    return Date.UTC(
      Number(year),
      Number(month) - 1,
      Number(day),
      Number(hour),
      Number(minute),
      Number(second),
      Math.round(Number(`0.${fraction}`) * 1000),
    );
  }
  const parsed = Date.parse(trimmed);
  if (Number.isNaN(parsed)) throw new CapacityError('INPUT_INVALID', `not a time stamp: ${JSON.stringify(text)}`);
  return parsed;
}

function splitLine(line: string, separator: string): string[] {
  if (!line.includes('"')) return line.split(separator);
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const character = line[index] as string;
    if (quoted) {
      if (character === '"' && line[index + 1] === '"') {
        cell += '"';
        index++;
      } else if (character === '"') quoted = false;
      else cell += character;
    } else if (character === '"') quoted = true;
    else if (line.startsWith(separator, index)) {
      cells.push(cell);
      cell = '';
      index += separator.length - 1;
    } else cell += character;
  }
  cells.push(cell);
  return cells;
}

/**
 * Parses a CSV of time stamps and values (a header row is detected). Rows must be in time order; empty lines are
 * skipped; a bad row throws `INPUT_INVALID` naming its line. Empty values (gaps) are skipped.
 *
 * @example
 * ```ts
 * const series = parseCsvSeries(await readFile('nyc_taxi.csv', 'utf8'));
 * ```
 */
export function parseCsvSeries(text: string, options: CsvSeriesOptions = {}): Series {
  const { separator = ',' } = options;
  const lines = text.split(/\r?\n/);
  let lineIndex = 0;
  while (lineIndex < lines.length && (lines[lineIndex] as string).trim() === '') lineIndex++;
  const first = splitLine(lines[lineIndex] ?? '', separator).map((cell) => cell.trim());
  const hasHeader =
    first.length > 0 &&
    first.some((cell) => cell !== '' && Number.isNaN(Number(cell))) &&
    (() => {
      try {
        parseTimestamp(first[0] as string);
        return false;
      } catch {
        return true;
      }
    })();
  const header = hasHeader ? first.map((cell) => cell.toLowerCase()) : [];
  const resolve = (
    column: string | number | undefined,
    fallbackNames: string[],
    fallbackIndex: number,
    what: string,
  ): number => {
    if (typeof column === 'number') return column;
    if (typeof column === 'string') {
      const found = header.indexOf(column.toLowerCase());
      if (found < 0)
        throw new CapacityError(
          'INPUT_INVALID',
          `no ${what} column named ${JSON.stringify(column)} (header: ${header.join(', ')})`,
        );
      return found;
    }
    const named = header.findIndex((cell) => fallbackNames.includes(cell));
    return named >= 0 ? named : fallbackIndex;
  };
  const timeIndex = resolve(options.timeColumn, TIME_NAMES, 0, 'time');
  const valueIndex = resolve(options.valueColumn, ['value', 'y'], timeIndex === 0 ? 1 : 0, 'value');
  if (hasHeader) lineIndex++;
  const series: Series = { timestamps: [], values: [], ...(options.name ? { name: options.name } : {}) };
  for (; lineIndex < lines.length; lineIndex++) {
    const line = lines[lineIndex] as string;
    if (line.trim() === '') continue;
    const cells = splitLine(line, separator);
    const timeText = cells[timeIndex];
    const valueText = cells[valueIndex]?.trim();
    if (timeText === undefined)
      throw new CapacityError('INPUT_INVALID', `line ${lineIndex + 1}: no time in column ${timeIndex + 1}`);
    if (valueText === undefined || valueText === '') continue;
    let at: number;
    try {
      at = parseTimestamp(timeText);
    } catch (error) {
      throw new CapacityError('INPUT_INVALID', `line ${lineIndex + 1}: ${(error as Error).message}`, { cause: error });
    }
    const value = Number(valueText);
    if (!Number.isFinite(value))
      throw new CapacityError('INPUT_INVALID', `line ${lineIndex + 1}: not a number: ${JSON.stringify(valueText)}`);
    const previous = series.timestamps[series.timestamps.length - 1];
    if (previous !== undefined && at <= previous)
      throw new CapacityError('INPUT_INVALID', `line ${lineIndex + 1}: time stamps must increase (${timeText.trim()})`);
    series.timestamps.push(at);
    series.values.push(value);
  }
  return series;
}

/**
 * Parses JSON series: `[{ "timestamp": …, "value": … }]`, `[[t, v], …]`, `{ "timestamps": [...], "values": [...] }`,
 * or a Prometheus `query_range` response (`data.result[0].values`).
 */
export function parseJsonSeries(text: string, options: { name?: string } = {}): Series {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new CapacityError('INPUT_INVALID', `not JSON: ${(error as Error).message}`, { cause: error });
  }
  const pairs: Array<[unknown, unknown]> = [];
  const fail = (path: string, message: string) => new CapacityError('INPUT_INVALID', `${path}: ${message}`);
  const root = document as Record<string, unknown>;
  if (Array.isArray(document)) {
    document.forEach((item, index) => {
      if (Array.isArray(item) && item.length >= 2) pairs.push([item[0], item[1]]);
      else if (item && typeof item === 'object') {
        const record = item as Record<string, unknown>;
        const time = TIME_NAMES.map((name) => record[name]).find((value) => value !== undefined);
        pairs.push([time, record['value'] ?? record['y']]);
      } else throw fail(`[${index}]`, 'expected [time, value] or { timestamp, value }');
    });
  } else if (root && Array.isArray(root['timestamps']) && Array.isArray(root['values'])) {
    const timestamps = root['timestamps'] as unknown[];
    const values = root['values'] as unknown[];
    if (timestamps.length !== values.length)
      throw fail('values', `length ${values.length} differs from timestamps (${timestamps.length})`);
    timestamps.forEach((time, index) => pairs.push([time, values[index]]));
  } else if (root && typeof root['data'] === 'object' && root['data'] !== null) {
    const result = (root['data'] as Record<string, unknown>)['result'];
    const first = Array.isArray(result) ? (result[0] as Record<string, unknown> | undefined) : undefined;
    if (!first || !Array.isArray(first['values'])) throw fail('data.result[0].values', 'expected a Prometheus matrix');
    for (const item of first['values'] as unknown[]) pairs.push([(item as unknown[])[0], (item as unknown[])[1]]);
  } else {
    throw fail('(root)', 'expected an array of points, { timestamps, values } or a Prometheus query_range response');
  }
  const series: Series = { timestamps: [], values: [], ...(options.name ? { name: options.name } : {}) };
  pairs.forEach(([time, value], index) => {
    const at =
      typeof time === 'number'
        ? Math.abs(time) < 1e11
          ? Math.round(time * 1000)
          : time
        : parseTimestamp(String(time));
    const number = typeof value === 'number' ? value : Number(value);
    if (!Number.isFinite(number)) throw fail(`[${index}].value`, `not a finite number: ${JSON.stringify(value)}`);
    const previous = series.timestamps[series.timestamps.length - 1];
    if (previous !== undefined && at <= previous) throw fail(`[${index}]`, 'time stamps must increase');
    series.timestamps.push(at);
    series.values.push(number);
  });
  return series;
}

/** The most common spacing between consecutive time stamps (the series' step). */
export function inferStepMs(series: Series): number {
  const counts = new Map<number, number>();
  for (let index = 1; index < series.timestamps.length; index++) {
    const step = (series.timestamps[index] as number) - (series.timestamps[index - 1] as number);
    counts.set(step, (counts.get(step) ?? 0) + 1);
  }
  let best = 0;
  let bestCount = -1;
  for (const [step, count] of counts) if (count > bestCount) [best, bestCount] = [step, count];
  if (!(best > 0))
    throw new CapacityError('INSUFFICIENT_DATA', 'cannot infer the step of a series with fewer than 2 points');
  return best;
}

/**
 * Puts a series on a regular grid of `stepMs` starting at its first time stamp: each grid point takes the sample
 * within half a step, gaps are filled by linear interpolation (and counted). Forecasting needs regular spacing.
 */
export function regularizeSeries(
  series: Series,
  stepMs: number = inferStepMs(series),
): Series & { stepMs: number; filled: number } {
  const { timestamps, values } = series;
  if (timestamps.length === 0) throw new CapacityError('INSUFFICIENT_DATA', 'empty series');
  const start = timestamps[0] as number;
  const count = Math.floor(((timestamps[timestamps.length - 1] as number) - start) / stepMs + 0.5) + 1;
  const grid = new Array<number | undefined>(count).fill(undefined);
  for (let index = 0; index < timestamps.length; index++) {
    const slot = Math.round(((timestamps[index] as number) - start) / stepMs);
    if (slot >= 0 && slot < count) grid[slot] = values[index] as number;
  }
  let filled = 0;
  let previous = -1;
  for (let slot = 0; slot < count; slot++) {
    if (grid[slot] !== undefined) {
      if (previous >= 0 && slot - previous > 1) {
        const from = grid[previous] as number;
        const to = grid[slot] as number;
        for (let gap = previous + 1; gap < slot; gap++) {
          grid[gap] = from + ((to - from) * (gap - previous)) / (slot - previous);
          filled++;
        }
      }
      previous = slot;
    }
  }
  return {
    ...(series.name ? { name: series.name } : {}),
    timestamps: grid.map((_, slot) => start + slot * stepMs),
    values: grid as number[],
    stepMs,
    filled,
  };
}
