import { describe, expect, it } from 'vitest';
import { createPostgresSource } from './postgres-source.js';

describe('createPostgresSource options', () => {
  it('refuses compression options in extraArguments: the manifest records the compression the source ran', () => {
    for (const argument of ['-Z5', '-Z', '--compress=9', '--compress', '-Fd'])
      expect(() => createPostgresSource({ extraArguments: [argument] }), argument).toThrow(
        expect.objectContaining({ code: 'ARGUMENT_INVALID', message: expect.stringContaining('compression options') }),
      );
    expect(() => createPostgresSource({ extraArguments: ['--exclude-table=audit_*', '--no-comments'] })).not.toThrow();
  });

  it('checks dumpCompressionLevel', () => {
    expect(() => createPostgresSource({ dumpCompressionLevel: 10 })).toThrow(
      /dumpCompressionLevel must be an integer 0–9/,
    );
    expect(() => createPostgresSource({ dumpCompressionLevel: 0, compressInsideDump: false })).not.toThrow();
  });
});
