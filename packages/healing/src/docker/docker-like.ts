/**
 * The parts of dockerode the healer uses, typed structurally so the published declarations never import
 * `dockerode` (an optional peer): pass `new Docker({ socketPath })` and it fits.
 */

/** The parts of a container inspect result the healer reads. */
export interface ContainerInspectLike {
  Id?: string | undefined;
  Name?: string | undefined;
  RestartCount?: number | undefined;
  Config?: { Labels?: Record<string, string> | null | undefined } | null | undefined;
  State?:
    | {
        Status?: string | undefined;
        Running?: boolean | undefined;
        StartedAt?: string | undefined;
        Health?: { Status?: string | undefined; FailingStreak?: number | undefined } | null | undefined;
      }
    | undefined;
}

/** One row of `docker ps` (the list endpoint) the healer reads. */
export interface ContainerSummaryLike {
  Id: string;
  Names?: string[] | undefined;
  Labels?: Record<string, string> | null | undefined;
  State?: string | undefined;
  Status?: string | undefined;
}

/** The parts of a dockerode `Container` the healer calls. */
export interface DockerContainerLike {
  inspect(options?: { abortSignal?: AbortSignal }): Promise<ContainerInspectLike>;
  restart(options?: { t?: number; abortSignal?: AbortSignal }): Promise<unknown>;
  stop(options?: { t?: number; abortSignal?: AbortSignal }): Promise<unknown>;
  start(options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/** A readable stream of the Docker events endpoint (newline-delimited JSON). */
export interface DockerEventStreamLike {
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  destroy?(error?: Error): unknown;
}

/** The parts of a dockerode `Docker` client the healer uses (dockerode 4/5; podman's Docker API works). */
export interface DockerLike {
  getContainer(id: string): DockerContainerLike;
  listContainers(options?: {
    all?: boolean;
    filters?: Record<string, string[]>;
    abortSignal?: AbortSignal;
  }): Promise<ContainerSummaryLike[]>;
  getEvents(options?: {
    filters?: Record<string, string[]>;
    /** Unix seconds: the engine first replays the events since then, then streams new ones. */
    since?: number;
    abortSignal?: AbortSignal;
  }): Promise<unknown>;
}

/** Health as the healer sees it: Docker's HEALTHCHECK states, plus `none` for a container without one. */
export type ContainerHealth = 'healthy' | 'unhealthy' | 'starting' | 'none';

/** Reads the health of an inspect result. */
export function healthOf(info: ContainerInspectLike): ContainerHealth {
  const status = info.State?.Health?.Status;
  if (status === 'healthy' || status === 'unhealthy' || status === 'starting') return status;
  return 'none';
}

/** A container's name without Docker's leading slash. */
export function containerName(value: string | undefined): string {
  return (value ?? '').replace(/^\//, '');
}

/** An error from the Docker API with its HTTP status (dockerode sets `statusCode`). */
export function dockerStatusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}
