import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { BackupError } from '../../errors.js';

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
export class ReplicationRefusedError extends BackupError {
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
export function openRdbStream(target: ReplicationTarget): Promise<ReplicationPayload> {
  return new Promise((resolve, reject) => {
    new ReplicationSession(target, resolve, reject);
  });
}

/** The RDB payload of a replication connection. */
export interface ReplicationPayload {
  stream: Readable;
  /** Sent in the diskless `$EOF:<mark>` form (no length known up front). */
  diskless: boolean;
  /** The length the server announced (`$<length>` form). */
  declaredBytes?: number;
}

/**
 * One replication connection: sends the commands one at a time, reads their replies, then turns the payload into the
 * Readable it resolves with (pausing the socket when the Readable is full).
 */
class ReplicationSession {
  readonly #target: ReplicationTarget;
  readonly #socket: Socket;
  readonly #resolve: (payload: ReplicationPayload) => void;
  readonly #reject: (error: Error) => void;
  readonly #stream: Readable;
  readonly #commands: Buffer[] = [];
  /** Replies before the payload: AUTH?, REPLCONF capa, REPLCONF rdb-only, then the SYNC header. */
  readonly #expected: number;
  readonly #replies: string[] = [];
  #settled = false;
  #buffer = Buffer.alloc(0);
  #state: 'replies' | 'payload' = 'replies';
  #remaining = 0;
  #eofMark: Buffer | undefined;
  /** Diskless: bytes that might be the start of the end mark. */
  #held = Buffer.alloc(0);

  constructor(
    target: ReplicationTarget,
    resolve: (payload: ReplicationPayload) => void,
    reject: (error: Error) => void,
  ) {
    const { timeoutMs = 10_000 } = target;
    this.#target = target;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#expected = target.password !== undefined ? 4 : 3;
    const socket: Socket = target.path
      ? connect({ path: target.path })
      : connect({ host: target.host ?? '127.0.0.1', port: target.port ?? 6379 });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(timeoutMs, () =>
      this.#fail(
        new BackupError('BACKUP_FAILED', `redis replication: no answer within ${timeoutMs} ms`, { isRetryable: true }),
      ),
    );
    this.#stream = new Readable({
      highWaterMark: 256 * 1024,
      read() {
        socket.resume();
      },
      destroy(error, callback) {
        socket.destroy();
        callback(error);
      },
    });
    if (target.password !== undefined) {
      this.#commands.push(
        target.username
          ? encodeCommand('AUTH', target.username, target.password)
          : encodeCommand('AUTH', target.password),
      );
    }
    // `capa eof` lets a server with repl-diskless-sync stream the RDB without touching its disk ($EOF:<mark> form).
    this.#commands.push(
      encodeCommand('REPLCONF', 'capa', 'eof'),
      encodeCommand('REPLCONF', 'rdb-only', '1'),
      encodeCommand('SYNC'),
    );
    socket.on('data', (chunk: Buffer) => {
      if (this.#state === 'payload') this.#onPayload(chunk);
      else this.#onReplies(chunk);
    });
    socket.on('error', (error) =>
      this.#fail(
        new BackupError('BACKUP_FAILED', `redis replication connection failed: ${error.message}`, {
          cause: error,
          isRetryable: true,
        }),
      ),
    );
    socket.on('close', () => {
      if (this.#state === 'payload' && !this.#stream.readableEnded)
        this.#stream.destroy(
          new BackupError('BACKUP_FAILED', 'redis closed the replication connection before the RDB was complete'),
        );
      else if (!this.#settled)
        this.#fail(new ReplicationRefusedError('redis closed the connection before sending an RDB'));
    });
    socket.on('connect', () => this.#sendNext());
  }

  /** Before the payload: rejects the promise; after it: fails the stream. */
  #fail(error: Error): void {
    if (!this.#settled) {
      this.#settled = true;
      this.#socket.destroy();
      this.#reject(error);
      return;
    }
    this.#stream.destroy(error);
  }

  #sendNext(): void {
    const command = this.#commands.shift();
    if (command) this.#socket.write(command);
  }

  #onReplies(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      while (this.#replies.length === this.#expected - 1 && this.#buffer[0] === 0x0a)
        this.#buffer = this.#buffer.subarray(1); // keep-alive newlines
      const end = this.#buffer.indexOf('\r\n');
      if (end === -1) return;
      const line = this.#buffer.subarray(0, end).toString('latin1');
      this.#buffer = this.#buffer.subarray(end + 2);
      this.#replies.push(line);
      if (this.#replies.length < this.#expected) {
        if (this.#target.password !== undefined && this.#replies.length === 1 && !line.startsWith('+')) {
          this.#fail(new ReplicationRefusedError(`redis AUTH failed for replication: ${line.slice(1)}`));
          return;
        }
        this.#sendNext(); // the server refuses SYNC while an earlier reply is pending, so one command at a time
        continue; // REPLCONF errors are fine: older servers ignore rdb-only
      }
      this.#onSyncReply(line);
      return;
    }
  }

  /** The reply to SYNC: a refusal, or the payload header (`$<length>` or `$EOF:<mark>`). */
  #onSyncReply(line: string): void {
    if (line.startsWith('-')) {
      this.#fail(new ReplicationRefusedError(`redis refused SYNC: ${line.slice(1)}`));
      return;
    }
    if (!line.startsWith('$')) {
      this.#fail(
        new BackupError('BACKUP_FAILED', `redis replication: unexpected reply ${JSON.stringify(line.slice(0, 60))}`),
      );
      return;
    }
    this.#socket.setTimeout(0);
    this.#state = 'payload';
    this.#settled = true;
    let declaredBytes: number | undefined;
    if (line.startsWith('$EOF:')) {
      this.#eofMark = Buffer.from(line.slice(5), 'latin1');
      if (this.#eofMark.length !== 40) {
        this.#stream.destroy(new BackupError('BACKUP_FAILED', 'redis replication: EOF mark is not 40 bytes'));
        return;
      }
    } else {
      this.#remaining = Number(line.slice(1));
      declaredBytes = this.#remaining;
      if (!Number.isSafeInteger(this.#remaining) || this.#remaining < 0) {
        this.#stream.destroy(new BackupError('BACKUP_FAILED', `redis replication: bad payload length ${line}`));
        return;
      }
    }
    this.#resolve({
      stream: this.#stream,
      diskless: this.#eofMark !== undefined,
      ...(declaredBytes === undefined ? {} : { declaredBytes }),
    });
    const rest = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    if (rest.length) this.#onPayload(rest);
    else if (!this.#eofMark && this.#remaining === 0) this.#finish();
  }

  #onPayload(chunk: Buffer): void {
    const eofMark = this.#eofMark;
    if (eofMark) {
      const combined = this.#held.length ? Buffer.concat([this.#held, chunk]) : chunk;
      const index = combined.indexOf(eofMark);
      if (index !== -1) {
        this.#deliver(combined.subarray(0, index));
        this.#finish();
        return;
      }
      const keep = Math.min(combined.length, eofMark.length - 1);
      this.#deliver(combined.subarray(0, combined.length - keep));
      this.#held = Buffer.from(combined.subarray(combined.length - keep));
      return;
    }
    const take = Math.min(this.#remaining, chunk.length);
    this.#remaining -= take;
    this.#deliver(chunk.subarray(0, take));
    if (this.#remaining === 0) this.#finish();
  }

  #deliver(chunk: Buffer): void {
    if (chunk.length > 0 && !this.#stream.push(chunk)) this.#socket.pause();
  }

  #finish(): void {
    this.#state = 'replies';
    this.#socket.removeAllListeners('data');
    this.#socket.destroy();
    this.#stream.push(null);
  }
}
