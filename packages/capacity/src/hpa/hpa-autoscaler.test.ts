// Cases transcribed from kubernetes/kubernetes pkg/controller/podautoscaler/horizontal_test.go, with their names.
// The table tests of the controller call its normalisation functions directly with a prenormalized proposal; here
// the proposal comes from an external AverageValue metric (value N, target 1 → N replicas, tolerance 0), so the
// whole decision path runs. Like the controller's tests, a fresh history holds no initial recommendation unless
// the case says so, and the legacy scale-up cap uses the tests' factor 8 (`scaleUpLimitFactor = 8` in init()).
import { createManualClock } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { createHpaAutoscaler, type HpaAutoscalerOptions, type HpaDecision } from './hpa-autoscaler.js';
import type { HpaPod } from './pods.js';
import type { HpaMetric } from './replica-calculator.js';
import {
  replicasChangedInPeriod,
  resolveScalingRules,
  scaleDownLimit,
  scaleUpLimit,
  storeScaleEvent,
  type ScaleEvent,
  type ScalingRules,
} from './scaling-rules.js';

const NOW = Date.UTC(2026, 0, 1, 12);

/** `generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow)`. */
function rules(
  pods: number,
  podsPeriodS: number,
  percent: number,
  percentPeriodS: number,
  windowS: number,
): ScalingRules {
  const policies: NonNullable<ScalingRules['policies']>[number][] = [];
  if (pods !== 0) policies.push({ type: 'Pods', value: pods, period: podsPeriodS * 1000 });
  if (percent !== 0) policies.push({ type: 'Percent', value: percent, period: percentPeriodS * 1000 });
  return { stabilizationWindow: windowS * 1000, selectPolicy: 'Max', policies };
}

/** `generateEventsUniformDistribution(rawEvents, periodSeconds)`: events centred in equal segments of the period. */
function uniformEvents(raw: number[], periodS: number): ScaleEvent[] {
  const segment = periodS / raw.length;
  return raw.map((change, index) => ({
    replicaChange: change,
    atMs: NOW - Math.trunc(periodS - segment * (index + 1) + segment / 2) * 1000,
    outdated: false,
  }));
}

const proposal = (replicas: number): HpaMetric => ({
  type: 'external',
  name: 'proposal',
  target: { averageValue: 1 },
  value: replicas,
});

interface RulesCase {
  name: string;
  scaleUpEvents?: ScaleEvent[];
  scaleDownEvents?: ScaleEvent[];
  specMinReplicas: number;
  specMaxReplicas: number;
  scaleUpRules?: ScalingRules;
  scaleDownRules?: ScalingRules;
  currentReplicas: number;
  prenormalizedDesiredReplicas: number;
  expectedReplicas: number;
  expectedCondition: string;
}

const scalingWithRules: RulesCase[] = [
  {
    name: 'prenormalized desired replicas within range',
    currentReplicas: 5,
    prenormalizedDesiredReplicas: 7,
    specMinReplicas: 3,
    specMaxReplicas: 8,
    expectedReplicas: 7,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: 'prenormalized desired replicas < minReplicas',
    currentReplicas: 3,
    prenormalizedDesiredReplicas: 1,
    specMinReplicas: 2,
    specMaxReplicas: 8,
    expectedReplicas: 2,
    expectedCondition: 'TooFewReplicas',
  },
  {
    name: 'prenormalized desired replicas within range when minReplicas is 0',
    currentReplicas: 1,
    prenormalizedDesiredReplicas: 0,
    specMinReplicas: 0,
    specMaxReplicas: 10,
    expectedReplicas: 0,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: 'maxReplicas is the limit because maxReplicas < scaleUpLimit',
    currentReplicas: 20,
    prenormalizedDesiredReplicas: 1000,
    specMinReplicas: 1,
    specMaxReplicas: 10,
    expectedReplicas: 10,
    expectedCondition: 'TooManyReplicas',
  },
  {
    name: 'desired replica count is more than the maximum replica count',
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 1000,
    specMinReplicas: 100,
    specMaxReplicas: 150,
    expectedReplicas: 150,
    expectedCondition: 'TooManyReplicas',
  },
  {
    name: 'scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies',
    currentReplicas: 3,
    prenormalizedDesiredReplicas: 1000,
    specMinReplicas: 1,
    specMaxReplicas: 2000,
    expectedReplicas: 4,
    expectedCondition: 'ScaleUpLimit',
    scaleUpRules: rules(0, 0, 1, 60, 0),
  },
  {
    name: 'scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies',
    currentReplicas: 1000,
    prenormalizedDesiredReplicas: 3,
    specMinReplicas: 3,
    specMaxReplicas: 2000,
    scaleDownRules: rules(20, 60, 0, 0, 0),
    expectedReplicas: 980,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleUp with default behavior',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 50,
    expectedReplicas: 20,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with pods policy larger than percent policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(100, 60, 100, 60, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 110,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with percent policy larger than pods policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(2, 60, 100, 60, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 20,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with spec MaxReplicas limitation with large pod policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(100, 60, 0, 0, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 50,
    expectedReplicas: 50,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: 'scaleUp with spec MaxReplicas limitation with large percent policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(10000, 60, 0, 0, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 50,
    expectedReplicas: 50,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: 'scaleUp with pod policy limitation',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(30, 60, 0, 0, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 50,
    expectedReplicas: 40,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with percent policy limitation',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(0, 0, 200, 60, 0),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 50,
    expectedReplicas: 30,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleDown with percent policy larger than pod policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(20, 60, 1, 60, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 2,
    expectedReplicas: 80,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with pod policy larger than percent policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(2, 60, 1, 60, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 2,
    expectedReplicas: 98,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with spec MinReplicas=nil limitation with large pod policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(100, 60, 0, 0, 300),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 0,
    expectedReplicas: 1,
    expectedCondition: 'TooFewReplicas',
  },
  {
    name: 'scaleDown with spec MinReplicas limitation with large pod policy',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(100, 60, 0, 0, 300),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 0,
    expectedReplicas: 1,
    expectedCondition: 'TooFewReplicas',
  },
  {
    name: 'scaleDown with spec MinReplicas limitation with large percent policy',
    specMinReplicas: 5,
    specMaxReplicas: 1000,
    scaleDownRules: rules(0, 0, 100, 60, 300),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 2,
    expectedReplicas: 5,
    expectedCondition: 'TooFewReplicas',
  },
  {
    name: 'scaleDown with pod policy limitation',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(5, 60, 0, 0, 300),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 2,
    expectedReplicas: 5,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with percent policy limitation',
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(0, 0, 50, 60, 300),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 5,
    expectedReplicas: 5,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: 'scaleUp with spec MaxReplicas limitation with large pod policy and events',
    scaleUpEvents: uniformEvents([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 200,
    scaleUpRules: rules(300, 60, 0, 0, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 200,
    expectedCondition: 'TooManyReplicas',
  },
  {
    name: 'scaleUp with spec MaxReplicas limitation with large percent policy and events',
    scaleUpEvents: uniformEvents([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 200,
    scaleUpRules: rules(0, 0, 10000, 60, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 200,
    expectedCondition: 'TooManyReplicas',
  },
  {
    name: 'scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events',
    scaleUpEvents: uniformEvents([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(5, 120, 0, 0, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 100,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with pod policy and previous scale up events',
    scaleUpEvents: uniformEvents([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(150, 120, 0, 0, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 235,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleUp with percent policy and previous scale up events',
    scaleUpEvents: uniformEvents([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(0, 0, 200, 120, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 500,
    expectedReplicas: 255,
    expectedCondition: 'ScaleUpLimit',
  },
  {
    name: 'scaleDown with default policy and previous events',
    scaleDownEvents: uniformEvents([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 5,
    expectedReplicas: 5,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: 'scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events',
    scaleDownEvents: uniformEvents([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(115, 120, 0, 0, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 0,
    expectedReplicas: 1,
    expectedCondition: 'TooFewReplicas',
  },
  {
    name: 'scaleDown with spec MinReplicas limitation with large pod policy and previous events',
    scaleDownEvents: uniformEvents([1, 5, 9], 120),
    specMinReplicas: 5,
    specMaxReplicas: 1000,
    scaleDownRules: rules(130, 120, 0, 0, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 0,
    expectedReplicas: 5,
    expectedCondition: 'TooFewReplicas',
  },
  {
    name: 'scaleDown with spec MinReplicas limitation with large percent policy and previous events',
    scaleDownEvents: uniformEvents([1, 5, 9], 120),
    specMinReplicas: 5,
    specMaxReplicas: 1000,
    scaleDownRules: rules(0, 0, 100, 120, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 2,
    expectedReplicas: 5,
    expectedCondition: 'TooFewReplicas',
  },
  {
    name: 'scaleDown with pod policy limitation and previous events',
    scaleDownEvents: uniformEvents([1, 5, 9], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(5, 120, 0, 0, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 2,
    expectedReplicas: 100,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with percent policy limitation and previous events',
    scaleDownEvents: uniformEvents([2, 4, 6], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(0, 0, 50, 120, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 0,
    expectedReplicas: 56,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with previous events preventing further scale down',
    scaleDownEvents: uniformEvents([10, 10, 10], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(0, 0, 10, 120, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 0,
    expectedReplicas: 100,
    expectedCondition: 'ScaleDownLimit',
  },
  {
    name: 'scaleDown with with previous events still allowing more scale down',
    scaleDownEvents: uniformEvents([10, 10, 10], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(0, 0, 1000, 120, 300),
    currentReplicas: 10,
    prenormalizedDesiredReplicas: 5,
    expectedReplicas: 5,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: "check 'outdated' flag for events for one behavior for up",
    scaleUpEvents: uniformEvents([8, 12, 9, 11], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(1000, 60, 0, 0, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 200,
    expectedReplicas: 200,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: "check that events were not marked 'outdated' for two different policies in the behavior for up",
    scaleUpEvents: uniformEvents([8, 12, 9, 11], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(1000, 120, 100, 60, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 200,
    expectedReplicas: 200,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: "check that events were marked 'outdated' for two different policies in the behavior for up",
    scaleUpEvents: uniformEvents([8, 12, 9, 11], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleUpRules: rules(1000, 30, 100, 60, 0),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 200,
    expectedReplicas: 200,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: "check 'outdated' flag for events for one behavior for down",
    scaleDownEvents: uniformEvents([8, 12, 9, 11], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(1000, 60, 0, 0, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 5,
    expectedReplicas: 5,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: "check that events were not marked 'outdated' for two different policies in the behavior for down",
    scaleDownEvents: uniformEvents([8, 12, 9, 11], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(1000, 120, 100, 60, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 5,
    expectedReplicas: 5,
    expectedCondition: 'DesiredWithinRange',
  },
  {
    name: "check that events were marked 'outdated' for two different policies in the behavior for down",
    scaleDownEvents: uniformEvents([8, 12, 9, 11], 120),
    specMinReplicas: 1,
    specMaxReplicas: 1000,
    scaleDownRules: rules(1000, 30, 100, 60, 300),
    currentReplicas: 100,
    prenormalizedDesiredReplicas: 5,
    expectedReplicas: 5,
    expectedCondition: 'DesiredWithinRange',
  },
];

function autoscaler(options: Partial<HpaAutoscalerOptions> & { maxReplicas: number }) {
  const clock = createManualClock(NOW);
  return { clock, hpa: createHpaAutoscaler({ clock, legacyScaleUpLimit: { factor: 8 }, ...options }) };
}

describe('behavior rate policies and bounds (horizontal_test.go TestScalingWithRules)', () => {
  for (const tc of scalingWithRules) {
    it(tc.name, () => {
      const { hpa } = autoscaler({
        minReplicas: tc.specMinReplicas,
        maxReplicas: tc.specMaxReplicas,
        tolerance: 0,
        behavior: {
          ...(tc.scaleUpRules ? { scaleUp: tc.scaleUpRules } : {}),
          ...(tc.scaleDownRules ? { scaleDown: tc.scaleDownRules } : {}),
        },
      });
      hpa.restore({
        recommendations: [],
        scaleUpEvents: tc.scaleUpEvents ?? [],
        scaleDownEvents: tc.scaleDownEvents ?? [],
      });
      const decision = hpa.decide({
        currentReplicas: tc.currentReplicas,
        metrics: [proposal(tc.prenormalizedDesiredReplicas)],
      });
      // Outside [min, max] the controller clamps before reading metrics (horizontal.go reconcileAutoscaler).
      const inBounds = tc.currentReplicas >= tc.specMinReplicas && tc.currentReplicas <= tc.specMaxReplicas;
      expect(decision.proposedReplicas).toBe(inBounds ? tc.prenormalizedDesiredReplicas : undefined);
      expect(decision.desiredReplicas).toBe(tc.expectedReplicas);
      expect(decision.conditions.scalingLimited.reason).toBe(tc.expectedCondition);
    });
  }
});

describe('legacy bounds without behavior (horizontal_test.go TestConvertDesiredReplicasWithRules)', () => {
  const table = [
    {
      current: 5,
      desired: 7,
      min: 3,
      max: 8,
      expected: 7,
      condition: 'DesiredWithinRange',
      annotation: 'prenormalized desired replicas within range',
    },
    {
      current: 3,
      desired: 1,
      min: 2,
      max: 8,
      expected: 2,
      condition: 'TooFewReplicas',
      annotation: 'prenormalized desired replicas < minReplicas',
    },
    {
      current: 1,
      desired: 0,
      min: 0,
      max: 10,
      expected: 0,
      condition: 'DesiredWithinRange',
      annotation: 'prenormalized desired zeroed replicas within range',
    },
    {
      current: 20,
      desired: 1000,
      min: 1,
      max: 10,
      expected: 10,
      condition: 'TooManyReplicas',
      annotation: 'maxReplicas is the limit because maxReplicas < scaleUpLimit',
    },
    {
      current: 3,
      desired: 1000,
      min: 1,
      max: 2000,
      expected: 24,
      condition: 'ScaleUpLimit',
      annotation: 'scaleUpLimit is the limit because scaleUpLimit < maxReplicas',
    },
  ];
  for (const row of table) {
    it(row.annotation, () => {
      const { hpa } = autoscaler({
        minReplicas: row.min,
        maxReplicas: row.max,
        tolerance: 0,
        seedInitialRecommendation: false,
      });
      const decision = hpa.decide({ currentReplicas: row.current, metrics: [proposal(row.desired)] });
      expect(decision.desiredReplicas).toBe(row.expected);
      expect(decision.conditions.scalingLimited.reason).toBe(row.condition);
    });
  }

  it('the default legacy cap is max(2 × current, 4) (calculateScaleUpLimit)', () => {
    const hpa = createHpaAutoscaler({ maxReplicas: 100, tolerance: 0, clock: createManualClock(NOW) });
    expect(hpa.decide({ currentReplicas: 1, metrics: [proposal(50)] }).desiredReplicas).toBe(4);
    expect(hpa.decide({ currentReplicas: 10, metrics: [proposal(50)] }).desiredReplicas).toBe(20);
  });
});

describe('stabilization windows (horizontal_test.go TestNormalizeDesiredReplicasWithBehavior, TestNormalizeDesiredReplicas)', () => {
  const ago = (minutes: number) => NOW - minutes * 60_000;
  const withBehavior = [
    {
      name: 'empty recommendations for scaling down',
      recommendations: [],
      current: 100,
      desired: 5,
      stabilized: 5,
      stored: [5],
      up: 0,
      down: 0,
    },
    {
      name: 'simple scale down stabilization',
      recommendations: [
        [4, 2],
        [5, 1],
      ],
      current: 100,
      desired: 3,
      stabilized: 5,
      stored: [4, 5, 3],
      up: 0,
      down: 180,
    },
    {
      name: 'simple scale up stabilization',
      recommendations: [
        [4, 2],
        [5, 1],
      ],
      current: 1,
      desired: 7,
      stabilized: 4,
      stored: [4, 5, 7],
      up: 300,
      down: 0,
    },
    {
      name: 'no scale down stabilization',
      recommendations: [
        [1, 2],
        [2, 1],
      ],
      current: 100,
      desired: 3,
      stabilized: 3,
      stored: [1, 2, 3],
      up: 300,
      down: 0,
    },
    {
      name: 'no scale up stabilization',
      recommendations: [
        [4, 2],
        [5, 1],
      ],
      current: 1,
      desired: 3,
      stabilized: 3,
      stored: [4, 5, 3],
      up: 0,
      down: 300,
    },
    {
      name: 'no scale down stabilization, reuse recommendation element',
      recommendations: [
        [10, 10],
        [9, 9],
      ],
      current: 100,
      desired: 3,
      stabilized: 3,
      stored: [10, 3],
      up: 0,
      down: 0,
    },
    {
      name: 'no scale up stabilization, reuse recommendation element',
      recommendations: [
        [10, 10],
        [9, 9],
      ],
      current: 1,
      desired: 100,
      stabilized: 100,
      stored: [10, 100],
      up: 0,
      down: 0,
    },
    {
      name: 'scale down stabilization, reuse one of obsolete recommendation element',
      recommendations: [
        [10, 10],
        [4, 1],
        [5, 2],
        [9, 9],
      ],
      current: 100,
      desired: 3,
      stabilized: 5,
      stored: [10, 4, 5, 3],
      up: 0,
      down: 180,
    },
    {
      name: 'scale up stabilization, reuse one of obsolete recommendation element',
      recommendations: [
        [10, 100],
        [6, 1],
        [5, 2],
        [9, 3],
      ],
      current: 1,
      desired: 100,
      stabilized: 5,
      stored: [100, 6, 5, 9],
      up: 300,
      down: 300,
    },
  ];
  for (const tc of withBehavior) {
    it(tc.name, () => {
      const { hpa } = autoscaler({
        maxReplicas: 1000,
        tolerance: 0,
        behavior: {
          scaleUp: { stabilizationWindow: tc.up * 1000 },
          scaleDown: { stabilizationWindow: tc.down * 1000 },
        },
      });
      hpa.restore({
        recommendations: tc.recommendations.map(([replicas, minutes]) => ({
          replicas: replicas as number,
          atMs: ago(minutes as number),
        })),
        scaleUpEvents: [],
        scaleDownEvents: [],
      });
      const decision = hpa.decide({ currentReplicas: tc.current, metrics: [proposal(tc.desired)] });
      expect(decision.stabilizedReplicas).toBe(tc.stabilized);
      expect(hpa.state().recommendations.map((entry) => entry.replicas)).toEqual(tc.stored);
      if (tc.stabilized !== tc.desired)
        expect(decision.reasons).toContain(tc.desired >= tc.current ? 'ScaleUpStabilized' : 'ScaleDownStabilized');
    });
  }

  const legacy = [
    { name: 'empty log', recommendations: [], desired: 5, stabilized: 5, length: 1 },
    {
      name: 'stabilize',
      recommendations: [
        [4, 2],
        [5, 1],
      ],
      desired: 3,
      stabilized: 5,
      length: 3,
    },
    {
      name: 'no stabilize',
      recommendations: [
        [1, 2],
        [2, 1],
      ],
      desired: 3,
      stabilized: 3,
      length: 3,
    },
    {
      name: 'no stabilize - old recommendations',
      recommendations: [
        [10, 10],
        [9, 9],
      ],
      desired: 3,
      stabilized: 3,
      length: 2,
    },
    {
      name: 'stabilize - old recommendations',
      recommendations: [
        [10, 10],
        [4, 1],
        [5, 2],
        [9, 9],
      ],
      desired: 3,
      stabilized: 5,
      length: 4,
    },
  ];
  for (const tc of legacy) {
    it(`legacy: ${tc.name}`, () => {
      const { hpa } = autoscaler({ maxReplicas: 1000, tolerance: 0, downscaleStabilizationWindow: '5m' });
      hpa.restore({
        recommendations: tc.recommendations.map(([replicas, minutes]) => ({
          replicas: replicas as number,
          atMs: ago(minutes as number),
        })),
        scaleUpEvents: [],
        scaleDownEvents: [],
      });
      const decision = hpa.decide({ currentReplicas: 100, metrics: [proposal(tc.desired)] });
      expect(decision.stabilizedReplicas).toBe(tc.stabilized);
      expect(hpa.state().recommendations).toHaveLength(tc.length);
    });
  }
});

describe('scale event history (horizontal_test.go TestStoreScaleEvents, TestCalculateScaleUpLimitWithScalingRules, TestCalculateScaleDownLimitWithBehaviors)', () => {
  const at = (replicaChange: number, secondsAgo: number, outdated = false): ScaleEvent => ({
    replicaChange,
    atMs: NOW - secondsAgo * 1000,
    outdated,
  });
  const table = [
    {
      name: 'empty entries with two-policy-behavior',
      prev: [],
      next: [[5, false]],
      rules: rules(10, 60, 100, 60, 0),
      change: 0,
    },
    {
      name: 'one outdated entry to be replaced with behavior',
      prev: [at(7, 61)],
      next: [[5, false]],
      rules: rules(10, 60, 100, 60, 0),
      change: 0,
    },
    {
      name: 'one actual entry to be not touched with behavior',
      prev: [at(7, 58)],
      next: [
        [7, false],
        [5, false],
      ],
      rules: rules(10, 60, 100, 60, 0),
      change: 7,
    },
    {
      name: 'two entries, one of them to be replaced',
      prev: [at(7, 61), at(6, 59)],
      next: [
        [5, false],
        [6, false],
      ],
      rules: rules(10, 60, 0, 0, 0),
      change: 6,
    },
    {
      name: 'replace one entry, use policies with different periods',
      prev: [at(8, 29), at(6, 59), at(7, 61), at(9, 61)],
      next: [
        [8, false],
        [6, false],
        [7, true],
        [5, false],
      ],
      rules: rules(10, 60, 100, 30, 0),
      change: 14,
    },
    {
      name: 'two entries, both actual',
      prev: [at(7, 58), at(6, 59)],
      next: [
        [7, false],
        [6, false],
        [5, false],
      ],
      rules: rules(10, 120, 100, 30, 0),
      change: 13,
    },
  ] as const;
  for (const tc of table) {
    it(tc.name, () => {
      const events = tc.prev.map((event) => ({ ...event }));
      expect(replicasChangedInPeriod(60_000, events, NOW)).toBe(tc.change);
      storeScaleEvent(events, 5, resolveScalingRules(tc.rules, 'up', 300_000), NOW);
      expect(events.map((event) => [event.replicaChange, event.outdated])).toEqual(tc.next);
    });
  }

  it('TestCalculateScaleUpLimitWithScalingRules: selectPolicy Min picks the smaller of 1+2 and ceil(1×1.5)', () => {
    const resolved = resolveScalingRules(
      {
        stabilizationWindow: '300s',
        selectPolicy: 'Min',
        policies: [
          { type: 'Pods', value: 2, period: '60s' },
          { type: 'Percent', value: 50, period: '60s' },
        ],
      },
      'up',
      300_000,
    );
    expect(scaleUpLimit(1, [], [], resolved, NOW)).toBe(2);
  });

  it('TestCalculateScaleDownLimitWithBehaviors: selectPolicy Min keeps the larger of 5−2 and trunc(5×0.5)', () => {
    const resolved = resolveScalingRules(
      {
        stabilizationWindow: '300s',
        selectPolicy: 'Min',
        policies: [
          { type: 'Pods', value: 2, period: '60s' },
          { type: 'Percent', value: 50, period: '60s' },
        ],
      },
      'down',
      300_000,
    );
    expect(scaleDownLimit(5, [], [], resolved, NOW)).toBe(3);
  });

  it('selectPolicy Disabled forbids the direction', () => {
    const { hpa } = autoscaler({
      maxReplicas: 100,
      tolerance: 0,
      behavior: { scaleDown: { selectPolicy: 'Disabled' } },
    });
    hpa.restore({ recommendations: [], scaleUpEvents: [], scaleDownEvents: [] });
    const decision = hpa.decide({ currentReplicas: 10, metrics: [proposal(2)] });
    expect(decision.desiredReplicas).toBe(10);
    expect(decision.conditions.scalingLimited.reason).toBe('ScaleDownLimit');
  });
});

describe('whole decisions (horizontal_test.go)', () => {
  const oldPods = (count: number): HpaPod[] =>
    Array.from({ length: count }, (_, index) => ({ name: `test-pod-${index}`, ready: true, startedAtMs: 0 }));
  const cpuMetric = (target: number, levelsMilli: number[], requestCores: number): HpaMetric => ({
    type: 'resource',
    name: 'cpu',
    target: { averageUtilization: target },
    requests: Object.fromEntries(levelsMilli.map((_, index) => [`test-pod-${index}`, requestCores])),
    usage: Object.fromEntries(levelsMilli.map((level, index) => [`test-pod-${index}`, level / 1000])),
  });
  const failingExternal: HpaMetric = {
    type: 'external',
    name: 'qps',
    target: { value: 0.1 },
    unavailable: 'something went wrong',
  };

  it('TestScaleUpOneMetricEmpty: scales up on the metric it has', () => {
    const { hpa } = autoscaler({ minReplicas: 2, maxReplicas: 6 });
    const decision = hpa.decide({
      currentReplicas: 3,
      pods: oldPods(3),
      metrics: [cpuMetric(30, [300, 400, 500], 1), failingExternal],
    });
    expect(decision.desiredReplicas).toBe(4);
    expect(decision.metrics[0]).toMatchObject({ ok: true, averageUtilization: 40 });
  });

  it('TestNoScaleDownOneMetricEmpty: never scales down while a metric is missing (kubernetes#99394)', () => {
    const { hpa } = autoscaler({ minReplicas: 2, maxReplicas: 6 });
    const decision = hpa.decide({
      currentReplicas: 5,
      pods: oldPods(5),
      metrics: [cpuMetric(50, [100, 300, 500, 250, 250], 1), failingExternal],
    });
    expect(decision.proposedReplicas).toBe(3);
    expect(decision.desiredReplicas).toBe(5);
    expect(decision.conditions.scalingActive).toMatchObject({ status: false, reason: 'FailedGetMetrics' });
    expect(decision.explanation.join('\n')).toContain('refusing to scale down on partial data');
  });

  it('TestNoScaleDownOneMetricInvalid: an invalid metric blocks the scale-down too', () => {
    const { hpa } = autoscaler({ minReplicas: 2, maxReplicas: 6 });
    const decision = hpa.decide({
      currentReplicas: 5,
      pods: oldPods(5),
      metrics: [
        cpuMetric(50, [100, 300, 500, 250, 250], 1),
        { type: 'pods', name: 'CheddarCheese', target: { averageValue: 1 } },
      ],
    });
    expect(decision.desiredReplicas).toBe(5);
  });

  it('TestUpscaleCap: a 700% per minute policy caps 3 → 60 at 24', () => {
    const { hpa } = autoscaler({ minReplicas: 1, maxReplicas: 100, behavior: { scaleUp: rules(0, 0, 700, 60, 0) } });
    const decision = hpa.decide({
      currentReplicas: 3,
      pods: oldPods(3),
      metrics: [cpuMetric(10, [100, 200, 300], 0.1)],
    });
    expect(decision.proposedReplicas).toBe(60);
    expect(decision.desiredReplicas).toBe(24);
    expect(decision.reasons).toEqual(['ReadyForNewScale', 'ValidMetricFound', 'ScaleUpLimit']);
  });

  it('TestUpscaleCapGreaterThanMaxReplicas: maxReplicas below the cap wins with TooManyReplicas', () => {
    const { hpa } = autoscaler({ minReplicas: 1, maxReplicas: 20 });
    const decision = hpa.decide({
      currentReplicas: 3,
      pods: oldPods(3),
      metrics: [cpuMetric(10, [100, 200, 300], 0.1)],
    });
    expect(decision.desiredReplicas).toBe(20);
    expect(decision.conditions.scalingLimited.reason).toBe('TooManyReplicas');
  });

  it('TestMissingReports: 4 replicas, one pod reporting at 100% of a 50% target → 2', () => {
    const { hpa } = autoscaler({ minReplicas: 1, maxReplicas: 5, seedInitialRecommendation: false });
    expect(
      hpa.decide({ currentReplicas: 4, pods: oldPods(1), metrics: [cpuMetric(50, [200], 0.2)] }).desiredReplicas,
    ).toBe(2);
  });

  it('TestZeroReplicas, TestTooFewReplicas, TestTooManyReplicas', () => {
    const { hpa } = autoscaler({ minReplicas: 3, maxReplicas: 5 });
    const zero = hpa.decide({ currentReplicas: 0, metrics: [] });
    expect(zero.desiredReplicas).toBe(0);
    expect(zero.conditions.scalingActive.reason).toBe('ScalingDisabled');
    expect(hpa.decide({ currentReplicas: 2, metrics: [] }).desiredReplicas).toBe(3);
    const tooMany = hpa.decide({ currentReplicas: 10, metrics: [] });
    expect(tooMany.desiredReplicas).toBe(5);
    expect(tooMany.conditions.scalingLimited.reason).toBe('TooManyReplicas');
  });

  it('the initial recommendation holds a scale-down for the default 5-minute window, then lets it through', () => {
    const { hpa, clock } = autoscaler({ minReplicas: 1, maxReplicas: 10 });
    const load = () =>
      hpa.decide({ currentReplicas: 5, pods: oldPods(5), metrics: [cpuMetric(50, [100, 300, 500, 250, 250], 1)] });
    const first = load();
    expect(first.proposedReplicas).toBe(3);
    expect(first.desiredReplicas).toBe(5);
    expect(first.reasons[0]).toBe('ScaleDownStabilized');
    clock.advance(5 * 60_000 + 1);
    const later = load();
    expect(later.desiredReplicas).toBe(3);
  });

  it('several metrics: the largest proposal wins and names the metric; events report the decision', () => {
    const { hpa } = autoscaler({ minReplicas: 1, maxReplicas: 20 });
    const seen: string[] = [];
    hpa.on('scale.recommended', (event) => seen.push(`${event.from}→${event.to} by ${event.metric}`));
    const decision: HpaDecision = hpa.decide({
      currentReplicas: 3,
      pods: oldPods(3),
      metrics: [
        cpuMetric(30, [300, 500, 700], 1),
        {
          type: 'pods',
          name: 'qps',
          target: { averageValue: 15 },
          values: { 'test-pod-0': 50, 'test-pod-1': 10, 'test-pod-2': 30 },
        },
      ],
    });
    expect(decision.desiredReplicas).toBe(6);
    expect(decision.metric).toBe('pods/qps');
    expect(seen).toEqual(['3→6 by pods/qps']);
  });
});
