import { describe, expect, it } from 'vitest';
import { loadBackendConfig } from './config.js';

describe('loadBackendConfig', () => {
  it('runs with no environment at all: embedded defaults, memory store and cache', () => {
    const config = loadBackendConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      adminEnabled: false,
      logLevel: 'info',
      backupMaxAge: 26 * 3_600_000,
      drainDelay: 5_000,
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.sloFile).toMatch(/reference-backend[/\\]slos\.yaml$/);
  });

  it('reads every variable, treating empty strings as unset', () => {
    const config = loadBackendConfig({
      PORT: '0',
      DATABASE_URL: 'postgresql://app:secret@127.0.0.1:5432/notes',
      REDIS_URL: '',
      BACKUP_EVERY: '6h',
      ADMIN_ENABLED: 'yes',
      LOG_LEVEL: 'warn',
    });
    expect(config).toMatchObject({
      port: 0,
      databaseUrl: 'postgresql://app:secret@127.0.0.1:5432/notes',
      backupEvery: 21_600_000,
      adminEnabled: true,
      logLevel: 'warn',
    });
    expect(config.redisUrl).toBeUndefined();
  });

  it('names every bad variable at once and never echoes a value', () => {
    let message = '';
    try {
      loadBackendConfig({
        PORT: '70000',
        REDIS_URL: 'http://:hunter2@cache',
        BACKUP_MAX_AGE: '5x',
        ADMIN_ENABLED: 'maybe',
      });
    } catch (error) {
      message = (error as Error).message;
      expect((error as { code?: string }).code).toBe('CONFIG_INVALID');
    }
    expect(message).toMatch(/^invalid environment: /);
    expect(message).toMatch(/PORT: /);
    expect(message).toMatch(/REDIS_URL: expected a URL such as redis:\/\//);
    expect(message).toMatch(/BACKUP_MAX_AGE: /);
    expect(message).toMatch(/ADMIN_ENABLED: expected true or false/);
    expect(message).not.toContain('hunter2');
  });
});
