import { close, fdatasync, fsync, open, writev } from 'node:fs';
import { Writable } from 'node:stream';

/** Written bytes after which the writer starts an `fdatasync` in the background. */
const SYNC_EVERY_BYTES = 32 * 1024 * 1024;

function call<T>(run: (done: (error: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value as T))));
}

/**
 * A file Writable for large objects that must be durable when it finishes: batches of buffered chunks go out with one
 * `writev` (1 MiB buffer), and every {@link SYNC_EVERY_BYTES} written an `fdatasync` starts in the background, so the
 * disk writes overlap the stream and the final `fsync` (before `finish`) only has the last few MiB left to flush,
 * instead of the whole object at the end. `bytes` counts what was written.
 */
export class DurableFileWriter extends Writable {
  readonly #path: string;
  readonly #flags: string;
  readonly #mode: number;
  #fd: number | undefined;
  #bytes = 0;
  #unsynced = 0;
  #background: Promise<void> | undefined;
  /** A failed background sync: reported by the final one (Linux reports a writeback error to a descriptor once). */
  #syncError: Error | undefined;

  constructor(path: string, options: { flags?: string; mode?: number } = {}) {
    super({ highWaterMark: 1024 * 1024 });
    this.#path = path;
    this.#flags = options.flags ?? 'wx';
    this.#mode = options.mode ?? 0o600;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.#path, this.#flags, this.#mode, (error, fd) => {
      if (!error) this.#fd = fd;
      callback(error);
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const buffers = chunks.map((entry) => entry.chunk);
    this.#writeAll(buffers).then(() => callback(), callback);
  }

  async #writeAll(buffers: Buffer[]): Promise<void> {
    const fd = this.#fd as number;
    let pending = buffers.filter((buffer) => buffer.length > 0);
    while (pending.length > 0) {
      let written = await call<number>((done) => writev(fd, pending, done));
      this.#bytes += written;
      this.#unsynced += written;
      // A short write (rare for regular files): continue with what is left.
      const rest: Buffer[] = [];
      for (const buffer of pending) {
        if (written >= buffer.length) written -= buffer.length;
        else {
          rest.push(written > 0 ? buffer.subarray(written) : buffer);
          written = 0;
        }
      }
      pending = rest;
    }
    if (this.#unsynced >= SYNC_EVERY_BYTES && !this.#background) {
      this.#unsynced = 0;
      // Not awaited: the disk flushes while the stream goes on; an error fails the final sync.
      this.#background = call<void>((done) => fdatasync(fd, done)).then(
        () => {
          this.#background = undefined;
        },
        (error: Error) => {
          this.#syncError ??= error;
          this.#background = undefined;
        },
      );
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    const fd = this.#fd as number;
    (this.#background ?? Promise.resolve())
      .then(() => {
        if (this.#syncError) throw this.#syncError;
        return call<void>((done) => fsync(fd, done));
      })
      .then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return callback(error);
    const finish = () => close(fd, (closeError) => callback(error ?? closeError));
    // Never close the descriptor under a running fdatasync.
    (this.#background ?? Promise.resolve()).then(finish, finish);
  }
}
