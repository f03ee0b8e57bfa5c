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

  it('refuses a plain dump that could not be restored: --create, or --clean without --if-exists', () => {
    for (const argument of ['--create', '-C', '-cC', '-OC'])
      expect(() => createPostgresSource({ format: 'plain', extraArguments: [argument] }), argument).toThrow(
        expect.objectContaining({ code: 'ARGUMENT_INVALID', message: expect.stringContaining('--create (-C)') }),
      );
    for (const argument of ['--clean', '-c', '-Oc'])
      expect(() => createPostgresSource({ format: 'plain', extraArguments: [argument] }), argument).toThrow(
        expect.objectContaining({ code: 'ARGUMENT_INVALID', message: expect.stringContaining('needs --if-exists') }),
      );
    // Fine: --clean with --if-exists; letters that are a value (-t Customers); the archive formats, whose --create
    // and --clean only matter to a pg_restore that asks for them.
    for (const extraArguments of [['--clean', '--if-exists'], ['-tCustomers'], ['-nCore', '--no-owner']])
      expect(() => createPostgresSource({ format: 'plain', extraArguments })).not.toThrow();
    expect(() => createPostgresSource({ format: 'custom', extraArguments: ['--create', '--clean'] })).not.toThrow();
  });

  it('checks dumpCompressionLevel', () => {
    expect(() => createPostgresSource({ dumpCompressionLevel: 10 })).toThrow(
      /dumpCompressionLevel must be an integer 0–9/,
    );
    expect(() => createPostgresSource({ dumpCompressionLevel: 0, compressInsideDump: false })).not.toThrow();
  });
});
