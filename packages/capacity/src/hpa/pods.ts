/** Phase of a pod (`status.phase`). */
export type PodPhase = 'Running' | 'Pending' | 'Succeeded' | 'Failed' | 'Unknown';

/** What the replica calculator needs to know about one replica (a Kubernetes pod, or any instance). */
export interface HpaPod {
  /** Unique name; metric samples are keyed by it. */
  name: string;
  /** Default `'Running'`. `Failed` pods are ignored; `Pending` pods count as unready. */
  phase?: PodPhase;
  /** Status of the Ready condition; `undefined` means the pod has no Ready condition (unready for CPU). */
  ready?: boolean;
  /** When the Ready condition last changed (epoch ms). Default `startedAtMs`. */
  readySinceMs?: number;
  /** When the pod started (epoch ms); `undefined` counts as unready for CPU, as in the controller. */
  startedAtMs?: number;
  /** The pod is being deleted (has a deletion timestamp): ignored. */
  deleting?: boolean;
}

/** One metric sample of a pod. A plain number is a sample taken at decision time over a 1-minute window. */
export type PodSample = number | { value: number; timestampMs?: number; windowMs?: number };

/** Options of {@link groupPods}. */
export interface GroupPodsOptions {
  /** Whether the metric is CPU (start-up CPU spikes make young or unready pods unrepresentative). */
  cpu: boolean;
  /** Decision time (epoch ms). */
  nowMs: number;
  /** `--horizontal-pod-autoscaler-cpu-initialization-period`, default 5 min. */
  cpuInitializationPeriodMs: number;
  /** `--horizontal-pod-autoscaler-initial-readiness-delay`, default 30 s. */
  initialReadinessDelayMs: number;
}

/** How the pods split for one metric. */
export interface PodGroups {
  /** Pods whose samples count as they are. */
  readyPodCount: number;
  /** Pods that are pending, or (CPU only) unready or too young for their sample to be trusted. */
  unready: Set<string>;
  /** Pods without a sample. */
  missing: Set<string>;
  /** Failed pods and pods being deleted. */
  ignored: Set<string>;
}

const DEFAULT_WINDOW_MS = 60_000;

/**
 * Splits pods as the HPA's `groupPods` does: deleted and failed pods are ignored; pending pods are unready; pods
 * without a sample are missing; for CPU only, a pod within its initialization period is unready when it is not
 * Ready or its sample was taken before one metric window after the last Ready transition, and an older pod is
 * unready only when it is not Ready and never became Ready (its last transition came within the initial readiness
 * delay of its start).
 */
export function groupPods(
  pods: readonly HpaPod[],
  samples: ReadonlyMap<string, PodSample>,
  options: GroupPodsOptions,
): PodGroups {
  const groups: PodGroups = { readyPodCount: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods) {
    const phase = pod.phase ?? 'Running';
    if (pod.deleting === true || phase === 'Failed') {
      groups.ignored.add(pod.name);
      continue;
    }
    if (phase === 'Pending') {
      groups.unready.add(pod.name);
      continue;
    }
    const sample = samples.get(pod.name);
    if (sample === undefined) {
      groups.missing.add(pod.name);
      continue;
    }
    if (options.cpu) {
      let unready: boolean;
      if (pod.ready === undefined || pod.startedAtMs === undefined) {
        unready = true;
      } else {
        const transitionMs = pod.readySinceMs ?? pod.startedAtMs;
        if (pod.startedAtMs + options.cpuInitializationPeriodMs > options.nowMs) {
          const timestampMs = typeof sample === 'number' ? options.nowMs : (sample.timestampMs ?? options.nowMs);
          const windowMs = typeof sample === 'number' ? DEFAULT_WINDOW_MS : (sample.windowMs ?? DEFAULT_WINDOW_MS);
          unready = !pod.ready || timestampMs < transitionMs + windowMs;
        } else {
          unready = !pod.ready && pod.startedAtMs + options.initialReadinessDelayMs > transitionMs;
        }
      }
      if (unready) {
        groups.unready.add(pod.name);
        continue;
      }
    }
    groups.readyPodCount++;
  }
  return groups;
}

/** Pods that are Running and Ready (what the HPA multiplies an object or external `Value` ratio by). */
export function countReadyPods(pods: readonly HpaPod[]): number {
  let count = 0;
  for (const pod of pods) if ((pod.phase ?? 'Running') === 'Running' && pod.ready === true) count++;
  return count;
}

/** The numeric value of a sample. */
export function sampleValue(sample: PodSample): number {
  return typeof sample === 'number' ? sample : sample.value;
}
