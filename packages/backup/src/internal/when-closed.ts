import type { Writable } from 'node:stream';

/**
 * Resolves once `stream` has closed. `pipeline` rejects at the first error without waiting for a file writer whose
 * open is still running; that open would create the file again after the caller removed it, so callers wait for this
 * before they remove what the writer was writing.
 */
export function whenClosed(stream: Writable): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}
