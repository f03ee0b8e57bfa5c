import type { AlertSink, Logger, OpsAlert } from '@ops/core';

/** What {@link createProblemSink} does with one alert. */
export type ProblemGrouping = { problem: string } | 'pass' | 'drop';

/** An {@link AlertSink} that folds the alerts of one problem into one incident, see {@link createProblemSink}. */
export interface ProblemSink {
  readonly sink: AlertSink;
  /** Member alerts firing now, per problem key (this process's view). */
  members(): Record<string, string[]>;
}

/**
 * One outage makes several alerts: the store's health check fails, the availability SLO's page-quick and
 * page-slow tiers fire, the latency SLO too. Sent as they are, each would open (and page for) its own incident.
 * This sink sends the members of one problem to `sink` under the problem's key — the first one opens the
 * incident, every further member bumps its `occurrences` — and sends the problem's `resolved` only when its
 * last member resolved. `group(alert)` names the problem, or says to pass the alert through unchanged, or to
 * drop it (logged).
 */
export function createProblemSink(options: {
  sink: AlertSink;
  /** `firing`: the member keys firing now, over every problem. */
  group: (alert: OpsAlert, firing: ReadonlySet<string>) => ProblemGrouping;
  logger: Logger;
}): ProblemSink {
  const { sink, group, logger } = options;
  const open = new Map<string, { startsAt: number; members: Map<string, OpsAlert> }>();
  const dropped = new Set<string>();
  const firing = () => new Set([...open.values()].flatMap((problem) => [...problem.members.keys()]));
  return {
    members: () => Object.fromEntries([...open].map(([key, problem]) => [key, [...problem.members.keys()]])),
    async sink(alert) {
      // A resolve follows its firing: what was dropped stays dropped.
      const grouping = alert.status === 'resolved' && dropped.has(alert.key) ? 'drop' : group(alert, firing());
      if (grouping === 'drop') {
        if (alert.status === 'firing') dropped.add(alert.key);
        else dropped.delete(alert.key);
        logger.info(
          { alert: alert.key, status: alert.status },
          'alert not sent to incidents (inhibited or not paging)',
        );
        return;
      }
      if (grouping === 'pass') return sink(alert);
      const key = grouping.problem;
      let problem = open.get(key);
      if (alert.status === 'firing') {
        if (!problem) {
          problem = { startsAt: alert.startsAt, members: new Map() };
          open.set(key, problem);
        }
        problem.startsAt = Math.min(problem.startsAt, alert.startsAt);
        problem.members.set(alert.key, alert);
        await sink({
          ...alert,
          key,
          startsAt: problem.startsAt,
          labels: { ...alert.labels, problem: key },
          annotations: { ...alert.annotations, member: alert.key },
        });
        return;
      }
      if (!problem || !problem.members.delete(alert.key)) return;
      if (problem.members.size > 0) {
        logger.info(
          { alert: alert.key, problem: key, stillFiring: [...problem.members.keys()] },
          'problem member resolved; others still firing',
        );
        return;
      }
      open.delete(key);
      try {
        await sink({
          ...alert,
          key,
          startsAt: problem.startsAt,
          endsAt: Math.max(problem.startsAt, alert.endsAt ?? alert.startsAt),
          labels: { ...alert.labels, problem: key },
          annotations: { ...alert.annotations, member: alert.key },
        });
      } catch (error) {
        // Not accepted: the forwarder retries this resolve, which must find the problem as it was.
        if (!open.has(key)) open.set(key, problem);
        problem.members.set(alert.key, alert);
        throw error;
      }
    },
  };
}
