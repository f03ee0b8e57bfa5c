import { describe, expect, it } from 'vitest';
import { OpsError } from '../errors/ops-error.js';
import { seededRandom } from '../random/seeded-random.js';
import { createManualClock } from '../time/clock.js';
import { createRollingWindow, type WindowSnapshot } from './rolling-window.js';

interface Event {
  at: number;
  value: number;
  good: boolean | undefined;
  bulk?: { count: number; sum: number; good: number; bad: number };
}

/** Keeps every accepted event and answers queries by filtering on bucket index: the specification, slowly. */
function createReference(windowMs: number, bucketMs: number) {
  const events: Event[] = [];
  let dropped = 0;
  const bucketCount = windowMs / bucketMs;
  const accept = (event: Event, now: number) => {
    const at = Math.min(event.at, now);
    if (Math.floor(at / bucketMs) <= Math.floor(now / bucketMs) - bucketCount) {
      dropped++;
      return;
    }
    events.push({ ...event, at });
  };
  const query = (spanMs: number, end: number, now: number): Omit<WindowSnapshot, 'startMs' | 'endMs'> => {
    const oldestRetained = Math.floor(now / bucketMs) - bucketCount + 1;
    const buckets = Math.min(bucketCount, Math.max(1, Math.ceil(spanMs / bucketMs)));
    const last = Math.floor(end / bucketMs);
    const first = last - buckets + 1;
    const inside = events.filter((event) => {
      const index = Math.floor(event.at / bucketMs);
      return index >= first && index <= last && index >= oldestRetained;
    });
    const values = inside.filter((event) => !event.bulk).map((event) => event.value);
    return {
      count: inside.reduce((total, event) => total + (event.bulk ? event.bulk.count : 1), 0),
      sum: inside.reduce((total, event) => total + (event.bulk ? event.bulk.sum : event.value), 0),
      good: inside.reduce((total, event) => total + (event.bulk ? event.bulk.good : event.good === true ? 1 : 0), 0),
      bad: inside.reduce((total, event) => total + (event.bulk ? event.bulk.bad : event.good === false ? 1 : 0), 0),
      min: values.length ? Math.min(...values) : undefined,
      max: values.length ? Math.max(...values) : undefined,
    };
  };
  return { accept, query, dropped: () => dropped };
}

describe('createRollingWindow', () => {
  it('validates its options with errors naming the option', () => {
    expect(() => createRollingWindow({ window: '1m', bucket: '7s' })).toThrow(
      /window: must be a whole multiple of bucket/,
    );
    expect(() => createRollingWindow({ window: '1s', bucket: '10s' })).toThrow(/window: must be at least one bucket/);
    expect(() => createRollingWindow({ window: '1m', bucket: 0 })).toThrow(/bucket: must be greater than 0/);
    expect(() => createRollingWindow({ window: '5x', bucket: '1s' })).toThrow(/window: invalid duration "5x"/);
    expect(() => createRollingWindow({ window: '30d', bucket: '1s' })).toThrow(
      /bucket: 2592000 buckets of 1000ms would need 138 MiB/,
    );
    expect(createRollingWindow({ window: '30d', bucket: '1h' }).bucketCount).toBe(720);
    try {
      createRollingWindow({ window: '1m', bucket: '7s' });
    } catch (error) {
      expect(OpsError.hasCode(error, 'ARGUMENT_INVALID')).toBe(true);
    }
  });

  it('counts, sums, classifies and tracks min/max', () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const window = createRollingWindow({ window: '1m', bucket: '10s', clock });
    expect(window.bucketCount).toBe(6);
    window.record(5, { good: true });
    window.record(-2, { good: false });
    window.record();
    clock.advance(15_000);
    window.record(40, { good: true });
    window.add({ count: 10, sum: 100, good: 9, bad: 1 });
    const snapshot = window.query();
    expect(snapshot).toMatchObject({ count: 14, sum: 144, good: 11, bad: 2, min: -2, max: 40 });
    expect(snapshot.endMs - snapshot.startMs).toBe(60_000);
    expect(window.query('10s')).toMatchObject({ count: 11, sum: 140, min: 40, max: 40 });
  });

  it('treats bucket edges as half-open: an event at the edge belongs to the next bucket', () => {
    const start = Date.UTC(2026, 0, 1);
    const clock = createManualClock(start);
    const window = createRollingWindow({ window: '30s', bucket: '10s', clock });
    clock.set(start + 9_999);
    window.record(1);
    clock.set(start + 10_000);
    window.record(2);
    expect(window.query('10s')).toMatchObject({ count: 1, sum: 2, startMs: start + 10_000, endMs: start + 20_000 });
    expect(window.query('20s')).toMatchObject({ count: 2, sum: 3, startMs: start });
    // The first bucket leaves the window exactly when a bucket three widths later begins.
    clock.set(start + 29_999);
    expect(window.query().count).toBe(2);
    clock.set(start + 30_000);
    expect(window.query()).toMatchObject({ count: 1, sum: 2, min: 2 });
    clock.set(start + 40_000);
    expect(window.query()).toMatchObject({ count: 0, sum: 0, min: undefined, max: undefined });
  });

  it('forgets everything after an idle gap longer than the window, without reading stale slots', () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const window = createRollingWindow({ window: '1m', bucket: '10s', clock });
    for (let index = 0; index < 6; index++) {
      window.record(index);
      clock.advance(10_000);
    }
    // 10 minutes later (a whole number of rings), every slot index lines up with an old bucket.
    clock.advance(600_000 - 60_000);
    expect(window.query()).toMatchObject({ count: 0 });
    window.record(100);
    expect(window.query()).toMatchObject({ count: 1, sum: 100, min: 100, max: 100 });
  });

  it('drops events older than the window and counts them in droppedLate; clamps future events to now', () => {
    const start = Date.UTC(2026, 0, 1);
    const clock = createManualClock(start + 120_000);
    const window = createRollingWindow({ window: '1m', bucket: '10s', clock });
    window.record(1, { at: start });
    window.add({ count: 3 }, start + 60_000);
    expect(window.droppedLate).toBe(2);
    window.record(7, { at: start + 70_000 }); // inside the window (oldest bucket)
    window.record(9, { at: start + 10_000_000 }); // future: counted now
    expect(window.query()).toMatchObject({ count: 2, sum: 16 });
    expect(window.query('10s')).toMatchObject({ count: 1, sum: 9 });
    window.reset();
    expect(window.droppedLate).toBe(0);
    expect(window.query().count).toBe(0);
  });

  it('queries a past end within the retained window', () => {
    const start = Date.UTC(2026, 0, 1);
    const clock = createManualClock(start);
    const window = createRollingWindow({ window: '1m', bucket: '10s', clock });
    window.record(1);
    clock.advance(20_000);
    window.record(2);
    expect(window.query('10s', start + 5_000)).toMatchObject({ count: 1, sum: 1 });
    expect(window.query('1h', start + 5_000)).toMatchObject({ count: 1, startMs: start - 50_000 });
    // Once the bucket has left the window it is forgotten, even though nothing has overwritten its slot.
    clock.set(start + 65_000);
    expect(window.query('10s', start + 5_000)).toMatchObject({ count: 0, sum: 0 });
    expect(window.query()).toMatchObject({ count: 1, sum: 2 });
  });

  it('rejects non-finite values instead of poisoning the sums', () => {
    const window = createRollingWindow({ window: '1m', bucket: '10s', clock: createManualClock() });
    expect(() => window.record(Number.NaN)).toThrow(/finite/);
    expect(() => window.add({ sum: Infinity })).toThrow(/sum must be a finite number/);
    expect(window.query().count).toBe(0);
  });

  it("stores good and bad only in 'good-bad' mode: 16 bytes per bucket, count = good + bad", () => {
    const clock = createManualClock(Date.UTC(2026, 0, 1));
    const window = createRollingWindow({ window: '3d', bucket: '1m', counters: 'good-bad', clock });
    expect(window).toMatchObject({ counters: 'good-bad', bucketCount: 4_320, bucketBytes: 4_320 * 16 });
    expect(createRollingWindow({ window: '30d', bucket: '1h' })).toMatchObject({
      counters: 'all',
      bucketBytes: 720 * 56,
    });
    window.record(250, { good: true });
    window.record(900, { good: false });
    window.add({ good: 7, bad: 3 });
    clock.advance(60_000);
    window.add({ bad: 2 });
    expect(window.query()).toMatchObject({ count: 14, sum: 14, good: 8, bad: 6, min: undefined, max: undefined });
    expect(window.query('1m')).toMatchObject({ count: 2, good: 0, bad: 2 });
    expect(() => window.record(1)).toThrow(/options\.good is required by a 'good-bad' window/);
    expect(() => window.add({ count: 3, good: 3 })).toThrow(/stores good and bad only .*got count/);
    expect(() => window.add({ good: Number.NaN })).toThrow(/add\(counts\): good must be a finite number/);
    expect(() => createRollingWindow({ window: '1m', bucket: '10s', counters: 'some' as 'all' })).toThrow(
      /counters: expected 'all' or 'good-bad', got "some"/,
    );
    expect(window.query()).toMatchObject({ good: 8, bad: 6 }); // rejected calls added nothing
  });

  it("forgets expired buckets in 'good-bad' mode after gaps shorter and longer than the window", () => {
    const start = Date.UTC(2026, 0, 1);
    const clock = createManualClock(start);
    const window = createRollingWindow({ window: '1m', bucket: '10s', counters: 'good-bad', clock });
    for (let index = 0; index < 6; index++) {
      window.record(1, { good: index % 2 === 0 });
      clock.advance(10_000);
    }
    expect(window.query()).toMatchObject({ good: 2, bad: 3 }); // the first bucket has just left the window
    clock.advance(25_000); // two more buckets expire, nothing is written
    expect(window.query()).toMatchObject({ good: 1, bad: 2 });
    window.record(1, { good: true });
    expect(window.query()).toMatchObject({ good: 2, bad: 2 });
    clock.advance(600_000); // a whole number of rings later every slot lines up with an old bucket
    expect(window.query()).toMatchObject({ good: 0, bad: 0 });
    window.record(1, { good: false });
    window.record(1, { good: true, at: clock.now() - 50_000 });
    window.record(1, { good: true, at: clock.now() - 60_000 });
    expect(window.query()).toMatchObject({ good: 1, bad: 1 });
    expect(window.droppedLate).toBe(1);
  });

  it('answers several spans at once, in the order given, each equal to its own query', () => {
    const start = Date.UTC(2026, 0, 1);
    const clock = createManualClock(start);
    const window = createRollingWindow({ window: '1h', bucket: '1m', clock });
    for (let minute = 0; minute < 90; minute++) {
      window.record(minute, { good: minute % 3 !== 0 });
      clock.advance(60_000);
    }
    const spans = ['1h', '5m', 30 * 60_000, '5m', '1m'] as const;
    const snapshots = window.querySpans(spans);
    expect(snapshots.map((snapshot) => snapshot.count)).toEqual([59, 4, 29, 4, 0]); // the current minute is still empty;
    spans.forEach((span, index) => expect(snapshots[index]).toEqual(window.query(span)));
    const end = start + 80 * 60_000 + 1;
    expect(window.querySpans(['10m', '2m'], end)).toEqual([window.query('10m', end), window.query('2m', end)]);
    expect(window.querySpans([])).toEqual([]);
    expect(() => window.querySpans(['5m', '5x'])).toThrow(/spans\[1\]: invalid duration "5x"/);
  });

  it('with quarter-hour buckets, calendar days in every IANA time zone are exact spans (offsets are whole quarter hours)', () => {
    // Every UTC offset in use during 2026, sampled daily, is a whole number of quarter hours, so every local
    // midnight is a bucket edge and a period [start, end) is answered by query(end - start, end - 1) exactly.
    const notQuarterHours: string[] = [];
    for (const timeZone of Intl.supportedValuesOf('timeZone')) {
      const format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
      for (let day = 0; day < 365; day++) {
        const offset =
          format.formatToParts(Date.UTC(2026, 0, 1) + day * 86_400_000).find((part) => part.type === 'timeZoneName')
            ?.value ?? '';
        const match = /^GMT(?:[+-](\d\d):(\d\d)(?::(\d\d))?)?$/.exec(offset);
        if (!match || Number(match[2] ?? 0) % 15 !== 0 || Number(match[3] ?? 0) !== 0)
          notQuarterHours.push(`${timeZone} ${offset}`);
      }
    }
    expect(notQuarterHours).toEqual([]);
    // Kathmandu (UTC+5:45): 1 May 2026 runs from 2026-04-30T18:15Z to 2026-05-01T18:15Z.
    const dayStart = Date.UTC(2026, 3, 30, 18, 15);
    const dayEnd = dayStart + 86_400_000;
    const clock = createManualClock(dayEnd + 3_600_000);
    const window = createRollingWindow({ window: '35d', bucket: '15m', counters: 'good-bad', clock });
    window.add({ bad: 100 }, dayStart - 1);
    window.add({ good: 5 }, dayStart);
    window.add({ good: 7, bad: 1 }, dayEnd - 1);
    window.add({ bad: 100 }, dayEnd);
    expect(window.query(dayEnd - dayStart, dayEnd - 1)).toMatchObject({
      good: 12,
      bad: 1,
      startMs: dayStart,
      endMs: dayEnd,
    });
  });

  it.each(
    (['all', 'good-bad'] as const).flatMap((counters) =>
      Array.from({ length: 16 }, (_, index) => [counters, index + 1] as const),
    ),
  )('matches a brute-force reference over a randomized sequence (%s, seed %i)', (counters, seed) => {
    const random = seededRandom(seed);
    const goodBad = counters === 'good-bad';
    const bucketMs = [1_000, 10_000, 60_000][seed % 3] as number;
    const bucketCount = 1 + Math.floor(random() * 12);
    const windowMs = bucketMs * bucketCount;
    // Start at an arbitrary offset inside a bucket.
    const clock = createManualClock(Date.UTC(2026, 0, 1) + Math.floor(random() * bucketMs));
    const window = createRollingWindow({ window: windowMs, bucket: bucketMs, clock, counters });
    const reference = createReference(windowMs, bucketMs);
    // A 'good-bad' window keeps only good and bad: count = good + bad, sum = count, no min/max.
    const expectedOf = (spanMs: number, end: number) => {
      const expected = reference.query(spanMs, end, clock.now());
      if (!goodBad) return { ...expected, sum: Math.round(expected.sum * 100) / 100 };
      const total = expected.good + expected.bad;
      return { count: total, sum: total, good: expected.good, bad: expected.bad, min: undefined, max: undefined };
    };
    const spanLength = (spanMs: number) => Math.min(bucketCount, Math.max(1, Math.ceil(spanMs / bucketMs))) * bucketMs;
    let multiSpanQueries = 0;
    for (let step = 0; step < 2_000; step++) {
      const roll = random();
      if (roll < 0.3) {
        // advance: mostly small steps, exact bucket edges, sometimes gaps longer than the window
        const kind = random();
        const advance =
          kind < 0.6
            ? Math.floor(random() * bucketMs)
            : kind < 0.85
              ? bucketMs - (clock.now() % bucketMs)
              : kind < 0.95
                ? windowMs
                : windowMs * (1 + Math.floor(random() * 5)) + Math.floor(random() * bucketMs);
        clock.advance(advance);
      } else if (roll < 0.75) {
        const value = Math.round((random() * 200 - 50) * 100) / 100;
        const good = random() < (goodBad ? 0 : 0.33) ? undefined : random() < 0.7;
        // sometimes backdated (possibly beyond the window), sometimes in the future
        const at = random() < 0.7 ? undefined : clock.now() + Math.floor((random() * 2.2 - 2) * windowMs);
        window.record(value, { ...(good === undefined ? {} : { good }), ...(at === undefined ? {} : { at }) });
        reference.accept({ at: at ?? clock.now(), value, good }, clock.now());
      } else if (roll < 0.8) {
        const good = Math.floor(random() * 3);
        const bad = Math.floor(random() * 3);
        const bulk = goodBad
          ? { count: good + bad, sum: good + bad, good, bad }
          : { count: Math.floor(random() * 5), sum: Math.floor(random() * 100), good, bad };
        const at = random() < 0.5 ? undefined : clock.now() - Math.floor(random() * 1.5 * windowMs);
        window.add(goodBad ? { good, bad } : bulk, at);
        reference.accept({ at: at ?? clock.now(), value: 0, good: undefined, bulk }, clock.now());
      } else if (roll < 0.9) {
        const spanMs = random() < 0.3 ? windowMs : Math.floor(random() * windowMs * 1.5);
        const end = random() < 0.7 ? clock.now() : clock.now() - Math.floor(random() * windowMs);
        const got = window.query(spanMs, random() < 0.5 && end === clock.now() ? undefined : end);
        expect({ ...got, sum: Math.round(got.sum * 100) / 100 }).toMatchObject(expectedOf(spanMs, end));
        expect(got.endMs - got.startMs).toBe(spanLength(spanMs));
      } else {
        // several spans in any order (duplicates too) ending at the same time: each must equal its own query
        const spansMs = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
          random() < 0.2 ? windowMs : Math.floor(random() * windowMs * 1.5),
        );
        if (spansMs.length > 1 && random() < 0.3) spansMs.push(spansMs[0] as number);
        const end = random() < 0.7 ? clock.now() : clock.now() - Math.floor(random() * windowMs);
        const got = window.querySpans(spansMs, random() < 0.5 && end === clock.now() ? undefined : end);
        expect(got).toHaveLength(spansMs.length);
        spansMs.forEach((spanMs, index) => {
          const snapshot = got[index] as WindowSnapshot;
          expect({ ...snapshot, sum: Math.round(snapshot.sum * 100) / 100 }).toMatchObject(expectedOf(spanMs, end));
          expect(snapshot.endMs - snapshot.startMs).toBe(spanLength(spanMs));
          expect(snapshot.endMs).toBe((Math.floor(end / bucketMs) + 1) * bucketMs);
        });
        multiSpanQueries++;
      }
    }
    expect(multiSpanQueries).toBeGreaterThan(100);
    expect(window.droppedLate).toBe(reference.dropped());
  });
});
