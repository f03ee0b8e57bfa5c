import { describe, expect, it } from 'vitest';
import { createSeverityPolicy } from './severity-policy.js';

describe('createSeverityPolicy', () => {
  it('has the runbook P0–P3 with response targets, urgency and routing', () => {
    const policy = createSeverityPolicy();
    expect(
      policy.levels.map((level) => [
        level.name,
        level.urgency,
        level.route,
        level.ackWithinMs,
        level.mitigateWithinMs,
        level.updateEveryMs,
        level.requiresPostmortem,
      ]),
    ).toEqual([
      ['P0', 'high', 'page', 300_000, 1_800_000, 1_800_000, true],
      ['P1', 'high', 'page', 900_000, 7_200_000, 3_600_000, true],
      ['P2', 'low', 'ticket', 14_400_000, 86_400_000, 86_400_000, false],
      ['P3', 'low', 'ticket', 86_400_000, 604_800_000, undefined, false],
    ]);
    expect(policy.level('P0')).toMatchObject({
      pagerDutySeverity: 'critical',
      impact: 'critical',
      componentStatus: 'major_outage',
      ackTimeoutMs: 1_800_000,
    });
    expect(policy.level('P2').ackTimeoutMs).toBeUndefined();
  });

  it('takes other names and counts, with positional defaults and overrides', () => {
    const policy = createSeverityPolicy({
      levels: [
        { name: 'P1' },
        { name: 'P2', ackWithin: '30m' },
        { name: 'P3', urgency: 'high' },
        { name: 'P4', updateEvery: '2d' },
        { name: 'P5', ackWithin: null },
      ],
    });
    expect(policy.level('P1').ackWithinMs).toBe(300_000);
    expect(policy.level('P2').ackWithinMs).toBe(1_800_000);
    expect(policy.level('P3')).toMatchObject({ urgency: 'high', route: 'page' });
    expect(policy.level('P4').updateEveryMs).toBe(172_800_000);
    expect(policy.level('P5').ackWithinMs).toBeUndefined();
    expect(policy.classify({ severity: 'critical' })).toBe('P1');
    expect(policy.classify({})).toBe('P2');
    expect(policy.isAtLeast('P2', 'P3')).toBe(true);
    expect(policy.isAtLeast('P4', 'P3')).toBe(false);
    expect(policy.compare('P1', 'P4')).toBeLessThan(0);
  });

  it('classifies by rules first, then a severity label naming a level, then the alert severity', () => {
    const policy = createSeverityPolicy({
      rules: [
        { severity: 'P0', labels: { service: 'payments' }, alertSeverities: ['error', 'critical'] },
        { severity: 'P3', labels: { env: /staging|dev/ } },
      ],
    });
    expect(policy.classify({ severity: 'error', labels: { service: 'payments' } })).toBe('P0');
    expect(policy.classify({ severity: 'warning', labels: { service: 'payments' } })).toBe('P2');
    expect(policy.classify({ severity: 'critical', labels: { env: 'staging' } })).toBe('P3');
    expect(policy.classify({ severity: 'critical', labels: { env: 'staging-eu' } })).toBe('P0'); // the RegExp must match the whole value
    expect(policy.classify({ labels: { severity: 'p1' } })).toBe('P1');
    expect(policy.classify({ labels: { severity: 'warning' } })).toBe('P2');
    expect(policy.classify({ labels: { severity: 'page' } })).toBe('P0');
    expect(policy.classify({ labels: {} })).toBe('P1');
  });

  it('refuses bad configuration with a message naming the field', () => {
    expect(() => createSeverityPolicy({ levels: [] })).toThrow('levels must not be empty');
    expect(() => createSeverityPolicy({ levels: [{ name: 'P0' }, { name: 'P0' }] })).toThrow(
      'level "P0" is defined twice',
    );
    expect(() => createSeverityPolicy({ levels: [{ name: 'P0', ackWithin: '5x' }] })).toThrow(/levels\[0\]\.ackWithin/);
    expect(() => createSeverityPolicy({ levels: [{ name: 'bad name' }] })).toThrow(/levels\[0\]\.name/);
    expect(() => createSeverityPolicy({ rules: [{ severity: 'SEV1' }] })).toThrow(
      'rules[0].severity "SEV1" is not a level (P0, P1, P2, P3)',
    );
    expect(() => createSeverityPolicy({ fromAlertSeverity: { fatal: 'P0' } as never })).toThrow(/unknown key "fatal"/);
    expect(() => createSeverityPolicy().level('P7')).toThrow('unknown severity "P7"; this policy has P0, P1, P2, P3');
  });
});
