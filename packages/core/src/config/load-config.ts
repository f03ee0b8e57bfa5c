import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import type * as Yaml from 'yaml';
import type { z } from 'zod';
import { ConfigError, safeParseMarkingMissing } from '../errors/config-error.js';

// yaml is loaded when a YAML text is first parsed, not when @ops/core is imported (~90 ms of module loading).
let yaml: typeof Yaml | undefined;
const parseYaml = (
  text: string,
  options: Yaml.ParseOptions & Yaml.DocumentOptions & Yaml.SchemaOptions & Yaml.ToJSOptions,
) => (yaml ??= createRequire(import.meta.url)('yaml') as typeof Yaml).parse(text, options) as unknown;

/** Options of {@link loadConfig} and {@link parseConfigText}. */
export interface LoadConfigOptions {
  /**
   * Variables for `${NAME}` / `${NAME:-default}` interpolation. Default `process.env`. A reference to a variable
   * that is unset and has no default is an error naming the variable and the path where it appears.
   */
  env?: Record<string, string | undefined>;
  /** `'yaml'` or `'json'`; by default guessed from the file extension (YAML unless `.json`). */
  format?: 'yaml' | 'json';
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}|\$\$/g;

function interpolate(value: unknown, env: Record<string, string | undefined>, path: string, source: string): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === '$$') return '$';
      const found = env[name as string];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`invalid ${source}: ${path || '(root)'}: environment variable ${name} is not set`, [
        { path, message: `environment variable ${name} is not set` },
      ]);
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, env, `${path}[${index}]`, source));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value))
      out[key] = interpolate(inner, env, path ? `${path}.${key}` : key, source);
    return out;
  }
  return value;
}

/**
 * Parses YAML or JSON text, interpolates `${ENV}` references in string values, and validates with `schema`.
 * Secrets stay out of config files: write `password: ${PGPASSWORD}`.
 *
 * @throws ConfigError naming the source and every bad path.
 */
export function parseConfigText<S extends z.ZodType>(
  text: string,
  schema: S,
  source = 'configuration',
  options: LoadConfigOptions = {},
): z.output<S> {
  const { env = process.env, format = source.endsWith('.json') ? 'json' : 'yaml' } = options;
  let raw: unknown;
  try {
    raw = format === 'json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new ConfigError(`invalid ${source}: cannot parse ${format.toUpperCase()}: ${(error as Error).message}`, [], {
      cause: error,
    });
  }
  const interpolated = interpolate(raw ?? {}, env, '', source);
  const parsed = safeParseMarkingMissing(schema, interpolated);
  if (!parsed.success) throw ConfigError.fromZod(parsed.error, source, [], schema);
  return parsed.data;
}

/**
 * Reads a YAML or JSON config file and validates it (see {@link parseConfigText}).
 *
 * @example
 * ```ts
 * const config = await loadConfig('ops-backup.yaml', backupConfigSchema);
 * ```
 */
export async function loadConfig<S extends z.ZodType>(
  file: string,
  schema: S,
  options: LoadConfigOptions = {},
): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      [],
      { cause: error },
    );
  }
  const format = options.format ?? (extname(file).toLowerCase() === '.json' ? 'json' : 'yaml');
  return parseConfigText(text, schema, file, { ...options, format });
}
