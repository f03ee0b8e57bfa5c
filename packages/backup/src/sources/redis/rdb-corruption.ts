/**
 * A structural problem found in an RDB stream, with the absolute byte offset where it starts. The readers throw it;
 * `walkRdbStream` turns it into `BACKUP_CORRUPT` with the offset in the message.
 */
export class RdbCorruption extends Error {
  constructor(
    /** Absolute byte offset of the problem in the stream. */
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}
