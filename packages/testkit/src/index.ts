export { TestkitError } from './errors.js';
export type { TestkitErrorCode } from './errors.js';

export { tempDir, testTempRoot } from './temp-dir.js';
export { trackProcess } from './process/cleanup-registry.js';
export type { TempDir } from './temp-dir.js';

export { startHttpServer } from './http/http-server.js';
export type { TestHttpHandler, TestHttpServer } from './http/http-server.js';

export {
  createPostgresDatabase,
  queryPostgres,
  resolvePostgresServer,
  LOCAL_POSTGRES_URL,
} from './postgres/postgres-database.js';
export type { CreatePostgresDatabaseOptions, PostgresDatabase, PostgresServer } from './postgres/postgres-database.js';
export { startThrowawayPostgres } from './postgres/throwaway-postgres.js';
export type { ThrowawayPostgres, ThrowawayPostgresOptions } from './postgres/throwaway-postgres.js';

export {
  createRedisNamespace,
  resolveRedisServer,
  LOCAL_REDIS_URL,
  REDIS_LEASE_KEY_PREFIX,
} from './redis/redis-namespace.js';
export type { RedisNamespace, RedisServer } from './redis/redis-namespace.js';
export { startThrowawayRedis } from './redis/throwaway-redis.js';
export type { ThrowawayRedis } from './redis/throwaway-redis.js';

export { useDockerEngine, LOCAL_DOCKER_SOCKETS, TESTKIT_CONTAINER_LABEL } from './docker/docker-engine.js';
export type { DockerEngine, RunContainerOptions } from './docker/docker-engine.js';
export { BUSYBOX_IMAGE } from './docker/busybox-image.js';
export { execInContainer } from './docker/exec-in-container.js';

export { startPrometheus, promtoolPath } from './prometheus/prometheus.js';
export type { StartPrometheusOptions, TestPrometheus } from './prometheus/prometheus.js';
export { startAlertmanager } from './prometheus/alertmanager.js';
export type { StartAlertmanagerOptions, TestAlertmanager } from './prometheus/alertmanager.js';

export { findPeerImportsInDeclarations } from './packaging/peer-imports.js';
export type { PeerImportScan } from './packaging/peer-imports.js';

export { launchChromium, CHROMIUM_PATH } from './browser/chromium.js';
export type { LaunchChromiumOptions } from './browser/chromium.js';
