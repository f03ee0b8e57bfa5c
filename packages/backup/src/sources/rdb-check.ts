import type { Readable } from 'node:stream';
import { OpsError } from '@ops/core';
import { Crc64 } from './crc64.js';

/** What {@link checkRdbStream} found. */
export interface RdbCheck {
  rdbVersion: number;
  bytes: number;
  /** `false` when the file was written with `rdbchecksum no` (checksum field 0). */
  checksumVerified: boolean;
}

/**
 * Reads a whole RDB stream and checks its structure ends: the `REDIS` magic and version at the start, the EOF opcode
 * (0xFF) before the trailer, and the trailing CRC-64 over every preceding byte. A truncated or altered RDB fails with
 * `BACKUP_CORRUPT`.
 */
export async function checkRdbStream(stream: Readable): Promise<RdbCheck> {
  const crc = new Crc64();
  let head = Buffer.alloc(0);
  let tail = Buffer.alloc(0); // the last 9 bytes seen, held back from the CRC
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (head.length < 9) head = Buffer.concat([head, chunk.subarray(0, 9 - head.length)]);
    const combined = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
    if (combined.length <= 9) {
      tail = Buffer.from(combined);
      continue;
    }
    crc.update(combined.subarray(0, combined.length - 9));
    tail = Buffer.from(combined.subarray(combined.length - 9));
  }
  if (head.length < 9 || head.subarray(0, 5).toString('latin1') !== 'REDIS' || !/^\d{4}$/.test(head.subarray(5, 9).toString('latin1'))) {
    throw new OpsError('BACKUP_CORRUPT', 'RDB does not start with the REDIS magic and a version');
  }
  if (tail.length < 9 || tail[0] !== 0xff) throw new OpsError('BACKUP_CORRUPT', 'RDB is truncated: the EOF opcode and checksum are missing');
  crc.update(tail.subarray(0, 1));
  const stored = tail.readBigUInt64LE(1);
  const rdbVersion = Number(head.subarray(5, 9).toString('latin1'));
  if (stored === 0n) return { rdbVersion, bytes, checksumVerified: false };
  if (stored !== crc.digest()) throw new OpsError('BACKUP_CORRUPT', `RDB checksum mismatch (stored ${stored.toString(16)}, computed ${crc.digest().toString(16)})`);
  return { rdbVersion, bytes, checksumVerified: true };
}
