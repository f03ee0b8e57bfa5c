import * as zlib from 'node:zlib';
import { PassThrough, type Transform } from 'node:stream';
import { BackupError } from '../errors.js';

/** Compression algorithms of the pipeline. `zstd` needs a runtime whose `zlib` has `createZstdCompress`. */
export type CompressionAlgorithm = 'none' | 'gzip' | 'zstd';

/** How artifacts are compressed. */
export interface CompressionOptions {
  /** Default `'gzip'`. */
  algorithm: CompressionAlgorithm;
  /** gzip 1–9 (default 1: fast, see the README), zstd 1–19 (default 3). Ignored for `none`. */
  level?: number;
}

type ZstdFactory = (options?: { params?: Record<number, number> }) => Transform;

function zstdFactories(): { compress: ZstdFactory; decompress: ZstdFactory; levelParameter: number } | undefined {
  const module = zlib as unknown as Record<string, unknown>;
  const compress = module.createZstdCompress;
  const decompress = module.createZstdDecompress;
  const constants = zlib.constants as unknown as Record<string, number>;
  if (typeof compress !== 'function' || typeof decompress !== 'function') return undefined;
  return {
    compress: compress as ZstdFactory,
    decompress: decompress as ZstdFactory,
    levelParameter: constants.ZSTD_c_compressionLevel ?? 100,
  };
}

/** Whether this runtime can compress with zstd (`zlib.createZstdCompress`; Node 20 cannot). */
export function isZstdAvailable(): boolean {
  return zstdFactories() !== undefined;
}

function refuseZstd(): never {
  throw new BackupError(
    'ARGUMENT_INVALID',
    `compression "zstd" is not available: this Node.js ${process.version} has no zlib.createZstdCompress (it arrived in Node 22.15 / 23.8). Use { algorithm: "gzip", level: 1 } or upgrade Node.`,
  );
}

/** Checks compression options, throwing `ARGUMENT_INVALID` for a bad level or an unavailable algorithm. */
export function assertCompression(options: CompressionOptions): void {
  const { algorithm, level } = options;
  if (algorithm === 'none') return;
  if (algorithm === 'gzip') {
    if (level !== undefined && (!Number.isInteger(level) || level < 1 || level > 9))
      throw new BackupError('ARGUMENT_INVALID', `gzip level must be an integer 1–9, got ${String(level)}`);
    return;
  }
  if (algorithm === 'zstd') {
    if (!isZstdAvailable()) refuseZstd();
    if (level !== undefined && (!Number.isInteger(level) || level < 1 || level > 19))
      throw new BackupError('ARGUMENT_INVALID', `zstd level must be an integer 1–19, got ${String(level)}`);
    return;
  }
  throw new BackupError(
    'ARGUMENT_INVALID',
    `unknown compression ${JSON.stringify(algorithm)}; expected "none", "gzip" or "zstd"`,
  );
}

/** The level actually used for `options` (defaults applied). */
export function effectiveLevel(options: CompressionOptions): number | undefined {
  if (options.algorithm === 'gzip') return options.level ?? 1;
  if (options.algorithm === 'zstd') return options.level ?? 3;
  return undefined;
}

/** A Transform compressing with `options` (a pass-through for `none`). */
export function createCompressStream(options: CompressionOptions): Transform {
  assertCompression(options);
  if (options.algorithm === 'gzip')
    return zlib.createGzip({ level: effectiveLevel(options) as number, chunkSize: 64 * 1024 });
  if (options.algorithm === 'zstd') {
    const zstd = zstdFactories() ?? refuseZstd();
    return zstd.compress({ params: { [zstd.levelParameter]: effectiveLevel(options) as number } });
  }
  return new PassThrough();
}

/** A Transform undoing {@link createCompressStream}. */
export function createDecompressStream(algorithm: CompressionAlgorithm): Transform {
  if (algorithm === 'gzip') return zlib.createGunzip({ chunkSize: 64 * 1024 });
  if (algorithm === 'zstd') return (zstdFactories() ?? refuseZstd()).decompress();
  if (algorithm === 'none') return new PassThrough();
  throw new BackupError('ARGUMENT_INVALID', `unknown compression ${JSON.stringify(algorithm)}`);
}
