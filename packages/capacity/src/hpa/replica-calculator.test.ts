// Cases transcribed from kubernetes/kubernetes pkg/controller/podautoscaler/replica_calculator_test.go, with their
// names. The fixtures mirror that file: every pod has two containers (requests and usage levels are per
// container, in milli-units), pods start long ago unless "hot" (started now) or "cool" (3 minutes ago), the
// Ready condition changed when the pod started, samples are taken now over a 1-minute window, and the calculator
// runs with the test constants: tolerance 0.1, CPU initialization period 2 minutes, readiness delay 10 seconds.
import { describe, expect, it } from 'vitest';
import type { HpaPod, PodPhase } from './pods.js';
import { calculateMetricReplicas, type HpaMetric, type MetricProposal } from './replica-calculator.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const CONTAINERS = 2;

interface ResourceInfo {
  requests: number[]; // cores per container
  levels: number[]; // milli per container
  podNames?: string[];
  targetUtilization: number;
  expectedUtilization?: number;
  expectedValue?: number; // milli per pod
}
interface MetricInfo {
  type: 'pods' | 'object' | 'objectPerPod' | 'external' | 'externalPerPod';
  levels: number[]; // milli
  target: number; // milli
  expectedUtilization?: number; // milli
}
interface CalcCase {
  currentReplicas: number;
  expectedReplicas?: number;
  expectedError?: string;
  resource?: ResourceInfo;
  metric?: MetricInfo;
  podReadiness?: boolean[];
  podStartTime?: Array<'hot' | 'cool'>;
  podPhase?: PodPhase[];
  podDeletionTimestamp?: boolean[];
}

function run(tc: CalcCase): MetricProposal {
  const podCount = Math.max(tc.currentReplicas, tc.podPhase?.length ?? 0);
  const pods: HpaPod[] = [];
  for (let index = 0; index < podCount; index++) {
    const start = tc.podStartTime?.[index];
    const startedAtMs = start === 'hot' ? NOW : start === 'cool' ? NOW - 3 * 60_000 : 0;
    pods.push({
      name: `test-pod-${index}`,
      phase: tc.podPhase?.[index] ?? 'Running',
      ready: tc.podReadiness?.[index] ?? true,
      startedAtMs,
      readySinceMs: startedAtMs,
      deleting: tc.podDeletionTimestamp?.[index] ?? false,
    });
  }
  const context = {
    currentReplicas: tc.currentReplicas,
    pods,
    nowMs: NOW,
    tolerances: { scaleUp: 0.1, scaleDown: 0.1 },
    cpuInitializationPeriodMs: 2 * 60_000,
    initialReadinessDelayMs: 10_000,
  };
  let metric: HpaMetric;
  if (tc.resource) {
    const { resource } = tc;
    const requests = Object.fromEntries(
      resource.requests.slice(0, podCount).map((cores, index) => [`test-pod-${index}`, cores * CONTAINERS]),
    );
    const usage = Object.fromEntries(
      resource.levels.map((level, index) => [
        resource.podNames?.[index] ?? `test-pod-${index}`,
        (level * CONTAINERS) / 1000,
      ]),
    );
    metric = {
      type: 'resource',
      name: 'cpu',
      target: { averageUtilization: resource.targetUtilization },
      requests,
      usage,
    };
  } else {
    const info = tc.metric as MetricInfo;
    const target = info.target / 1000;
    switch (info.type) {
      case 'pods':
        metric = {
          type: 'pods',
          name: 'qps',
          target: { averageValue: target },
          values: Object.fromEntries(info.levels.map((level, index) => [`test-pod-${index}`, level / 1000])),
        };
        break;
      case 'object':
      case 'external':
        metric = { type: info.type, name: 'qps', target: { value: target }, value: (info.levels[0] as number) / 1000 };
        break;
      case 'objectPerPod':
      case 'externalPerPod':
        metric = {
          type: info.type === 'objectPerPod' ? 'object' : 'external',
          name: 'qps',
          target: { averageValue: target },
          value: (info.levels[0] as number) / 1000,
        };
        break;
    }
  }
  const result = calculateMetricReplicas(metric, context);
  if (tc.expectedError !== undefined) {
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(tc.expectedError);
    return result;
  }
  if (!result.ok) throw new Error(`unexpected error: ${result.error}`);
  expect(result.replicas).toBe(tc.expectedReplicas);
  if (tc.resource) {
    expect(result.averageUtilization).toBe(tc.resource.expectedUtilization);
    expect(Math.round((result.averageValue as number) * 1000)).toBe(tc.resource.expectedValue);
  } else {
    const info = tc.metric as MetricInfo;
    const current = info.type === 'object' || info.type === 'external' ? result.value : result.averageValue;
    expect(Math.round((current as number) * 1000)).toBe(info.expectedUtilization);
  }
  return result;
}

const cpu = (count: number, cores = 1) => Array.from({ length: count }, () => cores);

const cases: Record<string, CalcCase> = {
  TestReplicaCalcDisjointResourcesMetrics: {
    currentReplicas: 1,
    expectedError: 'no metrics returned matched known pods',
    resource: { requests: [1], levels: [100], podNames: ['an-older-pod-name'], targetUtilization: 100 },
  },
  TestReplicaCalcScaleUp: {
    currentReplicas: 3,
    expectedReplicas: 5,
    resource: {
      requests: cpu(3),
      levels: [300, 500, 700],
      targetUtilization: 30,
      expectedUtilization: 50,
      expectedValue: CONTAINERS * 500,
    },
  },
  TestReplicaCalcScaleUpUnreadyLessScale: {
    currentReplicas: 3,
    expectedReplicas: 4,
    podReadiness: [false, true, true],
    resource: {
      requests: cpu(3),
      levels: [300, 500, 700],
      targetUtilization: 30,
      expectedUtilization: 60,
      expectedValue: CONTAINERS * 600,
    },
  },
  TestReplicaCalcScaleUpHotCpuLessScale: {
    currentReplicas: 3,
    expectedReplicas: 4,
    podStartTime: ['hot', 'cool', 'cool'],
    resource: {
      requests: cpu(3),
      levels: [300, 500, 700],
      targetUtilization: 30,
      expectedUtilization: 60,
      expectedValue: CONTAINERS * 600,
    },
  },
  TestReplicaCalcScaleUpUnreadyNoScale: {
    currentReplicas: 3,
    expectedReplicas: 3,
    podReadiness: [true, false, false],
    resource: {
      requests: cpu(3),
      levels: [400, 500, 700],
      targetUtilization: 30,
      expectedUtilization: 40,
      expectedValue: CONTAINERS * 400,
    },
  },
  TestReplicaCalcScaleHotCpuNoScale: {
    currentReplicas: 3,
    expectedReplicas: 3,
    podReadiness: [true, false, false],
    podStartTime: ['cool', 'hot', 'hot'],
    resource: {
      requests: cpu(3),
      levels: [400, 500, 700],
      targetUtilization: 30,
      expectedUtilization: 40,
      expectedValue: CONTAINERS * 400,
    },
  },
  TestReplicaCalcScaleUpIgnoresFailedPods: {
    currentReplicas: 2,
    expectedReplicas: 4,
    podReadiness: [true, true, false, false],
    podPhase: ['Running', 'Running', 'Failed', 'Failed'],
    resource: {
      requests: cpu(4),
      levels: [500, 700],
      targetUtilization: 30,
      expectedUtilization: 60,
      expectedValue: CONTAINERS * 600,
    },
  },
  TestReplicaCalcScaleUpIgnoresDeletionPods: {
    currentReplicas: 2,
    expectedReplicas: 4,
    podReadiness: [true, true, false, false],
    podPhase: ['Running', 'Running', 'Running', 'Running'],
    podDeletionTimestamp: [false, false, true, true],
    resource: {
      requests: cpu(4),
      levels: [500, 700],
      targetUtilization: 30,
      expectedUtilization: 60,
      expectedValue: CONTAINERS * 600,
    },
  },
  TestReplicaCalcScaleUpCM: {
    currentReplicas: 3,
    expectedReplicas: 4,
    metric: { type: 'pods', levels: [20000, 10000, 30000], target: 15000, expectedUtilization: 20000 },
  },
  TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale: {
    currentReplicas: 3,
    expectedReplicas: 6,
    podReadiness: [true, true, false],
    podStartTime: ['cool', 'cool', 'hot'],
    metric: { type: 'pods', levels: [50000, 10000, 30000], target: 15000, expectedUtilization: 30000 },
  },
  TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown: {
    currentReplicas: 3,
    expectedReplicas: 7,
    podReadiness: [false, true, false],
    podStartTime: ['hot', 'cool', 'hot'],
    metric: { type: 'pods', levels: [50000, 15000, 30000], target: 15000, expectedUtilization: 31666 },
  },
  TestReplicaCalcScaleUpCMObject: {
    currentReplicas: 3,
    expectedReplicas: 4,
    metric: { type: 'object', levels: [20000], target: 15000, expectedUtilization: 20000 },
  },
  TestReplicaCalcScaleUpCMPerPodObject: {
    currentReplicas: 3,
    expectedReplicas: 4,
    metric: { type: 'objectPerPod', levels: [20000], target: 5000, expectedUtilization: 6667 },
  },
  TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods: {
    currentReplicas: 3,
    expectedReplicas: 5, // 15 if unready pods were not ignored
    podReadiness: [false, true, false],
    metric: { type: 'object', levels: [50000], target: 10000, expectedUtilization: 50000 },
  },
  TestReplicaCalcScaleUpCMExternal: {
    currentReplicas: 1,
    expectedReplicas: 2,
    metric: { type: 'pods', levels: [8600], target: 4400, expectedUtilization: 8600 },
  },
  TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods: {
    currentReplicas: 3,
    expectedReplicas: 2, // 6 if unready pods were not ignored
    podReadiness: [false, true, false],
    metric: { type: 'external', levels: [8600], target: 4400, expectedUtilization: 8600 },
  },
  TestReplicaCalcScaleUpPerPodCMExternal: {
    currentReplicas: 3,
    expectedReplicas: 4,
    metric: { type: 'externalPerPod', levels: [8600], target: 2150, expectedUtilization: 2867 },
  },
  TestReplicaCalcScaleDown: {
    currentReplicas: 5,
    expectedReplicas: 3,
    resource: {
      requests: cpu(5),
      levels: [100, 300, 500, 250, 250],
      targetUtilization: 50,
      expectedUtilization: 28,
      expectedValue: CONTAINERS * 280,
    },
  },
  TestReplicaCalcScaleDownCM: {
    currentReplicas: 5,
    expectedReplicas: 3,
    metric: { type: 'pods', levels: [12000, 12000, 12000, 12000, 12000], target: 20000, expectedUtilization: 12000 },
  },
  TestReplicaCalcScaleDownPerPodCMObject: {
    currentReplicas: 5,
    expectedReplicas: 3,
    metric: { type: 'objectPerPod', levels: [6000], target: 2000, expectedUtilization: 1200 },
  },
  TestReplicaCalcScaleDownCMObject: {
    currentReplicas: 5,
    expectedReplicas: 3,
    metric: { type: 'object', levels: [12000], target: 20000, expectedUtilization: 12000 },
  },
  TestReplicaCalcScaleDownCMExternal: {
    currentReplicas: 5,
    expectedReplicas: 3,
    metric: { type: 'external', levels: [8600], target: 14334, expectedUtilization: 8600 },
  },
  TestReplicaCalcScaleDownPerPodCMExternal: {
    currentReplicas: 5,
    expectedReplicas: 3,
    metric: { type: 'externalPerPod', levels: [8600], target: 2867, expectedUtilization: 1720 },
  },
  TestReplicaCalcScaleDownIncludeUnreadyPods: {
    currentReplicas: 5,
    expectedReplicas: 2,
    podReadiness: [true, true, true, false, false],
    resource: {
      requests: cpu(5),
      levels: [100, 300, 500, 250, 250],
      targetUtilization: 50,
      expectedUtilization: 30,
      expectedValue: CONTAINERS * 300,
    },
  },
  TestReplicaCalcScaleDownExcludeUnscheduledPods: {
    currentReplicas: 5,
    expectedReplicas: 1,
    podReadiness: [true, false, false, false, false],
    podPhase: ['Running', 'Pending', 'Pending', 'Pending', 'Pending'],
    resource: {
      requests: cpu(5),
      levels: [100],
      targetUtilization: 50,
      expectedUtilization: 10,
      expectedValue: CONTAINERS * 100,
    },
  },
  TestReplicaCalcScaleDownIgnoreHotCpuPods: {
    currentReplicas: 5,
    expectedReplicas: 2,
    podStartTime: ['cool', 'cool', 'cool', 'hot', 'hot'],
    resource: {
      requests: cpu(5),
      levels: [100, 300, 500, 250, 250],
      targetUtilization: 50,
      expectedUtilization: 30,
      expectedValue: CONTAINERS * 300,
    },
  },
  TestReplicaCalcScaleDownIgnoresFailedPods: {
    currentReplicas: 5,
    expectedReplicas: 3,
    podReadiness: [true, true, true, true, true, false, false],
    podPhase: ['Running', 'Running', 'Running', 'Running', 'Running', 'Failed', 'Failed'],
    resource: {
      requests: cpu(7),
      levels: [100, 300, 500, 250, 250],
      targetUtilization: 50,
      expectedUtilization: 28,
      expectedValue: CONTAINERS * 280,
    },
  },
  TestReplicaCalcScaleDownIgnoresDeletionPods: {
    currentReplicas: 5,
    expectedReplicas: 3,
    podReadiness: [true, true, true, true, true, false, false],
    podPhase: ['Running', 'Running', 'Running', 'Running', 'Running', 'Running', 'Running'],
    podDeletionTimestamp: [false, false, false, false, false, true, true],
    resource: {
      requests: cpu(7),
      levels: [100, 300, 500, 250, 250],
      targetUtilization: 50,
      expectedUtilization: 28,
      expectedValue: CONTAINERS * 280,
    },
  },
  TestReplicaCalcTolerance: {
    currentReplicas: 3,
    expectedReplicas: 3,
    resource: {
      requests: [0.9, 1.0, 1.1],
      levels: [1010, 1030, 1020],
      targetUtilization: 100,
      expectedUtilization: 102,
      expectedValue: CONTAINERS * 1020,
    },
  },
  TestReplicaCalcToleranceCM: {
    currentReplicas: 3,
    expectedReplicas: 3,
    metric: { type: 'pods', levels: [20000, 21000, 21000], target: 20000, expectedUtilization: 20666 },
  },
  TestReplicaCalcToleranceCMObject: {
    currentReplicas: 3,
    expectedReplicas: 3,
    metric: { type: 'object', levels: [20666], target: 20000, expectedUtilization: 20666 },
  },
  TestReplicaCalcTolerancePerPodCMObject: {
    currentReplicas: 4,
    expectedReplicas: 4,
    metric: { type: 'objectPerPod', levels: [20166], target: 5000, expectedUtilization: 5042 },
  },
  TestReplicaCalcToleranceCMExternal: {
    currentReplicas: 3,
    expectedReplicas: 3,
    metric: { type: 'external', levels: [8600], target: 8888, expectedUtilization: 8600 },
  },
  TestReplicaCalcTolerancePerPodCMExternal: {
    currentReplicas: 3,
    expectedReplicas: 3,
    metric: { type: 'externalPerPod', levels: [8600], target: 2900, expectedUtilization: 2867 },
  },
  TestReplicaCalcSuperfluousMetrics: {
    currentReplicas: 4,
    expectedReplicas: 24,
    resource: {
      requests: cpu(4),
      levels: [4000, 9500, 3000, 7000, 3200, 2000],
      targetUtilization: 100,
      expectedUtilization: 587,
      expectedValue: CONTAINERS * 5875,
    },
  },
  TestReplicaCalcMissingMetrics: {
    currentReplicas: 4,
    expectedReplicas: 3,
    resource: {
      requests: cpu(4),
      levels: [400, 95],
      targetUtilization: 100,
      expectedUtilization: 24,
      expectedValue: 495,
    },
  },
  TestReplicaCalcEmptyMetrics: {
    currentReplicas: 4,
    expectedError: 'unable to get metrics for resource cpu: no metrics returned from resource metrics API',
    resource: { requests: cpu(3), levels: [], targetUtilization: 100 },
  },
  TestReplicaCalcEmptyCPURequest: {
    currentReplicas: 1,
    expectedError: 'missing request for',
    resource: { requests: [], levels: [200], targetUtilization: 100 },
  },
  TestReplicaCalcMissingMetricsNoChangeEq: {
    currentReplicas: 2,
    expectedReplicas: 2,
    resource: {
      requests: cpu(2),
      levels: [1000],
      targetUtilization: 100,
      expectedUtilization: 100,
      expectedValue: CONTAINERS * 1000,
    },
  },
  TestReplicaCalcMissingMetricsNoChangeGt: {
    currentReplicas: 2,
    expectedReplicas: 2,
    resource: {
      requests: cpu(2),
      levels: [1900],
      targetUtilization: 100,
      expectedUtilization: 190,
      expectedValue: CONTAINERS * 1900,
    },
  },
  TestReplicaCalcMissingMetricsNoChangeLt: {
    currentReplicas: 2,
    expectedReplicas: 2,
    resource: {
      requests: cpu(2),
      levels: [600],
      targetUtilization: 100,
      expectedUtilization: 60,
      expectedValue: CONTAINERS * 600,
    },
  },
  TestReplicaCalcMissingMetricsUnreadyChange: {
    currentReplicas: 3,
    expectedReplicas: 3,
    podReadiness: [false, true, true],
    resource: {
      requests: cpu(3),
      levels: [100, 450],
      targetUtilization: 50,
      expectedUtilization: 45,
      expectedValue: CONTAINERS * 450,
    },
  },
  TestReplicaCalcMissingMetricsHotCpuNoChange: {
    currentReplicas: 3,
    expectedReplicas: 3,
    podStartTime: ['hot', 'cool', 'cool'],
    resource: {
      requests: cpu(3),
      levels: [100, 450],
      targetUtilization: 50,
      expectedUtilization: 45,
      expectedValue: CONTAINERS * 450,
    },
  },
  TestReplicaCalcMissingMetricsUnreadyScaleUp: {
    currentReplicas: 3,
    expectedReplicas: 4,
    podReadiness: [false, true, true],
    resource: {
      requests: cpu(3),
      levels: [100, 2000],
      targetUtilization: 50,
      expectedUtilization: 200,
      expectedValue: CONTAINERS * 2000,
    },
  },
  TestReplicaCalcMissingMetricsHotCpuScaleUp: {
    currentReplicas: 3,
    expectedReplicas: 4,
    podReadiness: [false, true, true],
    podStartTime: ['hot', 'cool', 'cool'],
    resource: {
      requests: cpu(3),
      levels: [100, 2000],
      targetUtilization: 50,
      expectedUtilization: 200,
      expectedValue: CONTAINERS * 2000,
    },
  },
  TestReplicaCalcMissingMetricsUnreadyScaleDown: {
    currentReplicas: 4,
    expectedReplicas: 3,
    podReadiness: [false, true, true, true],
    resource: {
      requests: cpu(4),
      levels: [100, 100, 100],
      targetUtilization: 50,
      expectedUtilization: 10,
      expectedValue: CONTAINERS * 100,
    },
  },
  TestReplicaCalcDuringRollingUpdateWithMaxSurge: {
    currentReplicas: 2,
    expectedReplicas: 2,
    podPhase: ['Running', 'Running', 'Running'],
    resource: {
      requests: cpu(3),
      levels: [100, 100],
      targetUtilization: 50,
      expectedUtilization: 10,
      expectedValue: CONTAINERS * 100,
    },
  },
};

describe('replica calculator (kubernetes replica_calculator_test.go)', () => {
  for (const [name, tc] of Object.entries(cases)) it(name, () => void run(tc));

  it('TestReplicaCalcComputedToleranceAlgImplementation', () => {
    const startPods = 10;
    const totalUsed = startPods * 150;
    const totalRequested = 2 * totalUsed;
    const requestedToUsed = totalRequested / totalUsed;
    const perPodRequested = totalRequested / startPods;
    let target = Math.abs(1 / (requestedToUsed * (1 - 0.1))) + 0.01;
    const resourcesUsedRatio = totalUsed / (totalRequested * target);
    const finalPods = Math.ceil(resourcesUsedRatio * startPods);
    const offsets = [100, -100, 10, -10, 2, -2, 1, -1, 0, 0];
    const tc: CalcCase = {
      currentReplicas: startPods,
      expectedReplicas: finalPods,
      resource: {
        levels: Array.from({ length: 10 }, () => totalUsed / 10),
        requests: offsets.map((offset) => (perPodRequested + offset) / 1000),
        targetUtilization: Math.trunc(target * 100),
        expectedUtilization: Math.trunc((totalUsed * 100) / totalRequested),
        expectedValue: (CONTAINERS * totalUsed) / 10,
      },
    };
    expect(finalPods).toBe(9);
    run(tc);
    // Now the same load within a hair of the tolerance: no scaling.
    target = Math.abs(1 / (requestedToUsed * (1 - 0.1))) + 0.004;
    run({
      ...tc,
      expectedReplicas: startPods,
      resource: { ...(tc.resource as ResourceInfo), targetUtilization: Math.trunc(target * 100) },
    });
  });

  it('per-direction tolerances (KEP-4951): a wider scale-down band keeps a 15% drop, a narrow scale-up band acts on +5%', () => {
    const pods: HpaPod[] = [
      { name: 'a', ready: true, startedAtMs: 0 },
      { name: 'b', ready: true, startedAtMs: 0 },
    ];
    const context = {
      currentReplicas: 2,
      pods,
      nowMs: NOW,
      tolerances: { scaleUp: 0.02, scaleDown: 0.2 },
      cpuInitializationPeriodMs: 0,
      initialReadinessDelayMs: 0,
    };
    const down = calculateMetricReplicas(
      { type: 'pods', name: 'qps', target: { averageValue: 100 }, values: { a: 85, b: 85 } },
      context,
    );
    expect(down.ok && down.replicas).toBe(2);
    const up = calculateMetricReplicas(
      { type: 'pods', name: 'qps', target: { averageValue: 100 }, values: { a: 105, b: 105 } },
      context,
    );
    expect(up.ok && up.replicas).toBe(3);
  });

  it('an unavailable metric is an error result, not a guess', () => {
    const context = {
      currentReplicas: 2,
      pods: [],
      nowMs: NOW,
      tolerances: { scaleUp: 0.1, scaleDown: 0.1 },
      cpuInitializationPeriodMs: 0,
      initialReadinessDelayMs: 0,
    };
    const result = calculateMetricReplicas(
      { type: 'external', name: 'queue', target: { value: 10 }, unavailable: 'Prometheus timed out' },
      context,
    );
    expect(result).toEqual({ ok: false, metric: 'external/queue', error: 'Prometheus timed out' });
  });
});
