import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { OpsError } from '@ops/core';

/** Where and how to open a replication connection. */
export interface ReplicationTarget {
  host?: string;
  port?: number;
  path?: string;
  username?: string;
  password?: string;
  /** Default 10 s for the connection and the first payload byte (covers `repl-diskless-sync-delay`). */
  timeoutMs?: number;
}

const encodeCommand = (...parts: string[]): Buffer =>
  Buffer.from(`*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`);

/** The server refused replication (managed Redis, ACL); callers fall back to scan-dump. */
export class ReplicationRefusedError extends OpsError {
  constructor(message: string) {
    super('BACKUP_FAILED', message);
  }
}

/**
 * Streams a point-in-time RDB snapshot the way `redis-cli --rdb` does: AUTH, `REPLCONF rdb-only 1`, `SYNC`, then
 * the payload, in either the `$<length>` form or the diskless `$EOF:<40-byte mark>` form (the mark ends the stream).
 * Newlines the server sends while it forks are skipped. Resolves once the payload header has been read, so a refusal
 * (`-ERR unknown command 'SYNC'`, `-NOPERM`) rejects with {@link ReplicationRefusedError} before any artifact exists.
 */
export function openRdbStream(target: ReplicationTarget): Promise<{ stream: Readable; diskless: boolean; declaredBytes?: number }> {
  const { timeoutMs = 10_000 } = target;
  return new Promise((resolve, reject) => {
    const socket: Socket = target.path ? connect({ path: target.path }) : connect({ host: target.host ?? '127.0.0.1', port: target.port ?? 6379 });
    socket.setNoDelay(true);
    socket.setTimeout(timeoutMs, () => fail(new OpsError('BACKUP_FAILED', `redis replication: no answer within ${timeoutMs} ms`, { isRetryable: true })));
    let settled = false;
    let buffer = Buffer.alloc(0);
    const replies: string[] = [];
    const expected = target.password !== undefined ? 4 : 3; // AUTH?, REPLCONF capa, REPLCONF rdb-only, then the SYNC header
    let state: 'replies' | 'payload' = 'replies';
    let remaining = 0;
    let eofMark: Buffer | undefined;
    let held = Buffer.alloc(0); // diskless: bytes that might be the start of the end mark

    const stream = new Readable({
      highWaterMark: 256 * 1024,
      read() {
        socket.resume();
      },
      destroy(error, callback) {
        socket.destroy();
        callback(error);
      },
    });

    function fail(error: Error) {
      if (!settled) {
        settled = true;
        socket.destroy();
        reject(error);
        return;
      }
      stream.destroy(error);
    }

    const commands: Buffer[] = [];
    if (target.password !== undefined) {
      commands.push(target.username ? encodeCommand('AUTH', target.username, target.password) : encodeCommand('AUTH', target.password));
    }
    // `capa eof` lets a server with repl-diskless-sync stream the RDB without touching its disk ($EOF:<mark> form).
    commands.push(encodeCommand('REPLCONF', 'capa', 'eof'), encodeCommand('REPLCONF', 'rdb-only', '1'), encodeCommand('SYNC'));
    function sendNext() {
      const command = commands.shift();
      if (command) socket.write(command);
    }

    function deliver(chunk: Buffer) {
      if (chunk.length > 0 && !stream.push(chunk)) socket.pause();
    }

    function finish() {
      state = 'replies';
      socket.removeAllListeners('data');
      socket.destroy();
      stream.push(null);
    }

    function onPayload(chunk: Buffer) {
      if (eofMark) {
        const combined = held.length ? Buffer.concat([held, chunk]) : chunk;
        const index = combined.indexOf(eofMark);
        if (index !== -1) {
          deliver(combined.subarray(0, index));
          finish();
          return;
        }
        const keep = Math.min(combined.length, eofMark.length - 1);
        deliver(combined.subarray(0, combined.length - keep));
        held = Buffer.from(combined.subarray(combined.length - keep));
        return;
      }
      const take = Math.min(remaining, chunk.length);
      remaining -= take;
      deliver(chunk.subarray(0, take));
      if (remaining === 0) finish();
    }

    socket.on('data', (chunk: Buffer) => {
      if (state === 'payload') {
        onPayload(chunk);
        return;
      }
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        while (replies.length === expected - 1 && buffer[0] === 0x0a) buffer = buffer.subarray(1); // keep-alive newlines
        const end = buffer.indexOf('\r\n');
        if (end === -1) return;
        const line = buffer.subarray(0, end).toString('latin1');
        buffer = buffer.subarray(end + 2);
        replies.push(line);
        if (replies.length < expected) {
          if (target.password !== undefined && replies.length === 1 && !line.startsWith('+')) {
            fail(new ReplicationRefusedError(`redis AUTH failed for replication: ${line.slice(1)}`));
            return;
          }
          sendNext(); // the server refuses SYNC while an earlier reply is pending, so one command at a time
          continue; // REPLCONF errors are fine: older servers ignore rdb-only
        }
        if (line.startsWith('-')) {
          fail(new ReplicationRefusedError(`redis refused SYNC: ${line.slice(1)}`));
          return;
        }
        if (!line.startsWith('$')) {
          fail(new OpsError('BACKUP_FAILED', `redis replication: unexpected reply ${JSON.stringify(line.slice(0, 60))}`));
          return;
        }
        socket.setTimeout(0);
        state = 'payload';
        settled = true;
        let declaredBytes: number | undefined;
        if (line.startsWith('$EOF:')) {
          eofMark = Buffer.from(line.slice(5), 'latin1');
          if (eofMark.length !== 40) {
            stream.destroy(new OpsError('BACKUP_FAILED', 'redis replication: EOF mark is not 40 bytes'));
            return;
          }
        } else {
          remaining = Number(line.slice(1));
          declaredBytes = remaining;
          if (!Number.isSafeInteger(remaining) || remaining < 0) {
            stream.destroy(new OpsError('BACKUP_FAILED', `redis replication: bad payload length ${line}`));
            return;
          }
        }
        resolve({ stream, diskless: eofMark !== undefined, ...(declaredBytes === undefined ? {} : { declaredBytes }) });
        const rest = buffer;
        buffer = Buffer.alloc(0);
        if (rest.length) onPayload(rest);
        else if (!eofMark && remaining === 0) finish();
        return;
      }
    });
    socket.on('error', (error) => fail(new OpsError('BACKUP_FAILED', `redis replication connection failed: ${error.message}`, { cause: error, isRetryable: true })));
    socket.on('close', () => {
      if (state === 'payload' && !stream.readableEnded) stream.destroy(new OpsError('BACKUP_FAILED', 'redis closed the replication connection before the RDB was complete'));
      else if (!settled) fail(new ReplicationRefusedError('redis closed the connection before sending an RDB'));
    });
    socket.on('connect', () => sendNext());
  });
}
