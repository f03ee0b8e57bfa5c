import { describe, expect, it } from 'vitest';
import { CapacityError } from '../errors.js';
import { inferStepMs, parseCsvSeries, parseJsonSeries, parseTimestamp, regularizeSeries } from './series.js';

describe('series inputs', () => {
  it('parses NAB-style CSV (naive time stamps as UTC) and other time formats', () => {
    const series = parseCsvSeries('timestamp,value\n2014-07-01 00:00:00,10844\n2014-07-01 00:30:00,8127\n\n');
    expect(series.timestamps).toEqual([Date.UTC(2014, 6, 1), Date.UTC(2014, 6, 1, 0, 30)]);
    expect(series.values).toEqual([10844, 8127]);
    expect(parseTimestamp('1404172800')).toBe(Date.UTC(2014, 6, 1));
    expect(parseTimestamp('2014-07-01T00:00:00Z')).toBe(Date.UTC(2014, 6, 1));
    const named = parseCsvSeries('"value","when"\n5,2026-01-01\n6,2026-01-02\n', { timeColumn: 'when' });
    expect(named.values).toEqual([5, 6]);
  });

  it('names the line of a bad row', () => {
    const bad = () => parseCsvSeries('timestamp,value\n2014-07-01 00:00:00,1\n2014-07-01 00:30:00,abc\n');
    expect(bad).toThrow(CapacityError);
    expect(bad).toThrow(/line 3: not a number/);
    expect(() => parseCsvSeries('t,v\n2014-07-01,1\n2014-06-01,2\n')).toThrow(/line 3: time stamps must increase/);
  });

  it('parses JSON points, arrays and a Prometheus query_range body', () => {
    expect(parseJsonSeries('[{"timestamp":"2026-01-01T00:00:00Z","value":1}]').values).toEqual([1]);
    expect(parseJsonSeries('{"timestamps":[1,2],"values":[3,4]}').timestamps).toEqual([1000, 2000]);
    const prometheus = parseJsonSeries(
      '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"1.5"],[1700000060,"2"]]}]}}',
    );
    expect(prometheus.values).toEqual([1.5, 2]);
    expect(() => parseJsonSeries('[{"timestamp":1,"value":"x"}]')).toThrow(/\[0\]\.value/);
  });

  it('regularizes gaps by linear interpolation and infers the step', () => {
    const series = { timestamps: [0, 300_000, 900_000, 1_200_000], values: [1, 2, 4, 5] };
    expect(inferStepMs(series)).toBe(300_000);
    const regular = regularizeSeries(series);
    expect(regular.values).toEqual([1, 2, 3, 4, 5]);
    expect(regular.filled).toBe(1);
  });
});
