import type { Readable } from 'node:stream';
import { walkRdbStream, type RdbSummary } from './rdb-walker.js';

/** What {@link checkRdbStream} found: the structural walk's summary. */
export type RdbCheck = RdbSummary;

/**
 * Reads a whole RDB stream and checks it: the `REDIS` magic and version, a structural walk of every opcode, key and
 * value (see {@link walkRdbStream}), the EOF opcode and the trailing CRC-64. A truncated or altered RDB fails with
 * `BACKUP_CORRUPT` naming the byte offset.
 */
export async function checkRdbStream(stream: Readable): Promise<RdbCheck> {
  return walkRdbStream(stream);
}

/** Key counts of an RDB walk: `12 keys, 3 expiring [db0: 10 keys (2 expiring), db3: 2 keys (1 expiring)]`. */
export function describeRdbCounts(rdb: RdbCheck): string {
  const databases = Object.entries(rdb.databases)
    .map(([database, counts]) => `db${database}: ${counts.keys} keys (${counts.expiringKeys} expiring)`)
    .join(', ');
  return `${rdb.keys} keys, ${rdb.expiringKeys} expiring` + (databases ? ` [${databases}]` : '');
}

/** One-line description of an RDB walk for verification results. */
export function describeRdbCheck(rdb: RdbCheck): string {
  return `RDB version ${rdb.rdbVersion}, ${rdb.bytes} bytes, structure parsed: ${describeRdbCounts(rdb)}, ${rdb.checksumVerified ? 'CRC-64 verified' : 'written without checksum'}`;
}
