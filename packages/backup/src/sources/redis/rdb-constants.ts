// Numbers of the RDB format (Redis src/rdb.h) that the walker needs.

/** Opcodes that may appear where a key's value type is expected. */
export const RDB_OPCODE = {
  SLOT_INFO: 0xf4,
  FUNCTION2: 0xf5,
  FUNCTION_PRE_GA: 0xf6,
  MODULE_AUX: 0xf7,
  IDLE: 0xf8,
  FREQ: 0xf9,
  AUX: 0xfa,
  RESIZEDB: 0xfb,
  EXPIRETIME_MS: 0xfc,
  EXPIRETIME: 0xfd,
  SELECTDB: 0xfe,
  EOF: 0xff,
} as const;

/** Value type numbers with the names the walk summary counts them under. */
export const RDB_VALUE_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'string',
  1: 'list',
  2: 'set',
  3: 'zset',
  4: 'hash',
  5: 'zset-2',
  6: 'module-pre-ga',
  7: 'module-2',
  9: 'hash-zipmap',
  10: 'list-ziplist',
  11: 'set-intset',
  12: 'zset-ziplist',
  13: 'hash-ziplist',
  14: 'list-quicklist',
  15: 'stream-listpacks',
  16: 'hash-listpack',
  17: 'zset-listpack',
  18: 'list-quicklist-2',
  19: 'stream-listpacks-2',
  20: 'set-listpack',
  21: 'stream-listpacks-3',
  22: 'hash-metadata-pre-ga',
  23: 'hash-listpack-ex-pre-ga',
  24: 'hash-metadata',
  25: 'hash-listpack-ex',
};

/** Newest RDB version the walker understands (Redis 7.4 writes 12). */
export const MAX_RDB_VERSION = 12;
