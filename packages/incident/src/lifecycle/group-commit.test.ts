import { createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createIncidentManager } from './incident-manager.js';

const T0 = Date.UTC(2026, 0, 13, 9, 0, 0);

describe('group commit of ingest', () => {
  it('counts every occurrence when many callers send the same keys at once', async () => {
    const incidents = createIncidentManager({ clock: createManualClock(T0), autoStart: false });
    const sends = Array.from({ length: 60 }, (_, index) =>
      incidents.ingestBatch([
        { action: 'trigger', service: 'api', dedupKey: `key-${index % 3}`, summary: 'Errors', source: 'test' },
      ]),
    );
    const results = await Promise.all(sends);
    expect(results.map(([result]) => result!.action).filter((action) => action === 'created')).toHaveLength(3);
    const open = await incidents.list({ open: true });
    expect(open.map((incident) => incident.occurrences)).toEqual([20, 20, 20]);
    await incidents.close();
  });
});
