/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

const SENSITIVE_KEY = /pass(word|wd|phrase)?|secret|token|api[-_]?key|auth(orization)?$|cookie|credential|private[-_]?key|session[-_]?id|access[-_]?key|signature/i;

interface Rule {
  pattern: RegExp;
  replace: (match: string, ...groups: string[]) => string;
}

const RULES: Rule[] = [
  // scheme://user:password@host  and  scheme://:password@host (postgres, redis, amqp, mongodb+srv, https …)
  {
    // (the scheme is bounded: an unbounded `[a-z0-9+.-]*` rescans long dashed words from every word start)
    pattern: /\b([a-z][a-z0-9+.-]{0,31}:\/\/)([^:/?#@\s]*):([^@/\s]+)@/gi,
    replace: (_match, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`,
  },
  // scheme://token@host (user part alone is a token for some providers, e.g. https://ghp_x@github.com)
  {
    pattern: /\b(https?:\/\/)([A-Za-z0-9_-]{20,})@/g,
    replace: (_match, scheme: string) => `${scheme}${REDACTED}@`,
  },
  // key=value pairs in libpq / ADO / JDBC strings, env files and query strings: password=..., pwd=...,
  // sslpassword=..., and prefixed names such as DB_PASSWORD=... or aws_secret_access_key = ... (the keyword may
  // follow `_` or `-`; matching the prefix itself would make the scan quadratic on long dashed words)
  {
    pattern: /(?:\b|(?<=[_-]))((?:(?:ssl)?pass(?:word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|auth[_-]?token|x-amz-signature|sig))(\s*[=:]\s*)('[^']*'|"[^"]*"|[^\s;&,'"]+)/gi,
    replace: (_match, key: string, separator: string) => `${key}${separator}${REDACTED}`,
  },
  // Authorization-style headers in text: "Authorization: Bearer abc", "Cookie: a=b; c=d"
  {
    pattern: /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token)(\s*:\s*)([^\r\n]+)/gi,
    replace: (_match, key: string, separator: string) => `${key}${separator}${REDACTED}`,
  },
  // Bearer / Basic / Token credentials wherever they appear
  { pattern: /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}/g, replace: (_match, kind: string) => `${kind} ${REDACTED}` },
  // JSON Web Tokens
  { pattern: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, replace: () => REDACTED },
  // Well-known token prefixes: GitHub, GitLab, Slack, Stripe, OpenAI/Anthropic, npm, SendGrid, Google API keys
  {
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{30,}|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{35})/g,
    replace: () => REDACTED,
  },
  // AWS access key ids and secret access keys following a key id name
  { pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, replace: () => REDACTED },
  // age secret keys
  { pattern: /AGE-SECRET-KEY-1[0-9A-Z]{58}/g, replace: () => REDACTED },
  // PEM private keys
  { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, replace: () => REDACTED },
];

/** Options of {@link redact}. */
export interface RedactOptions {
  /** Exact strings to remove wherever they appear (e.g. the password a probe was configured with). */
  secrets?: readonly string[];
  /** Extra key pattern whose values are always replaced in objects. */
  sensitiveKeys?: RegExp;
  /** Maximum depth walked in objects; deeper values become `'[Truncated]'`. Default 8. */
  maxDepth?: number;
}

/**
 * Removes credentials from a string: passwords in URLs and connection strings, Authorization/Cookie headers,
 * bearer tokens, JWTs and well-known API token shapes. Known secrets passed in `options.secrets` are removed
 * verbatim too.
 *
 * @example
 * ```ts
 * redactText('connect ECONNREFUSED postgres://app:hunter2@db:5432/app')
 * // 'connect ECONNREFUSED postgres://app:[REDACTED]@db:5432/app'
 * ```
 */
export function redactText(text: string, options: RedactOptions = {}): string {
  let out = text;
  for (const secret of options.secrets ?? []) {
    if (secret.length >= 3) out = out.split(secret).join(REDACTED);
  }
  for (const rule of RULES) {
    out = out.replace(rule.pattern, rule.replace as (substring: string, ...args: unknown[]) => string);
  }
  return out;
}

/**
 * Redacts any value: strings through {@link redactText}; objects and arrays deeply, replacing the values of
 * sensitive keys (`password`, `authorization`, `cookie`, `token`, `apiKey`, …) entirely; Errors become
 * `{ name, message }` with a redacted message (stacks are dropped). Returns a new value; the input is untouched.
 */
export function redact<T>(value: T, options: RedactOptions = {}): T {
  return walk(value, options, 0, new WeakSet()) as T;
}

function walk(value: unknown, options: RedactOptions, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value, options);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= (options.maxDepth ?? 8)) return '[Truncated]';
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (value instanceof Error) {
    return { name: value.name, message: redactText(value.message, options) };
  }
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) return value.map((item) => walk(item, options, depth + 1, seen));
  if (value instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [key, inner] of value) out.set(key, isSensitiveKey(key, options) ? REDACTED : walk(inner, options, depth + 1, seen));
    return out;
  }
  if (ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = isSensitiveKey(key, options) && inner !== undefined && inner !== null ? REDACTED : walk(inner, options, depth + 1, seen);
  }
  return out;
}

function isSensitiveKey(key: unknown, options: RedactOptions): boolean {
  if (typeof key !== 'string') return false;
  return SENSITIVE_KEY.test(key) || (options.sensitiveKeys?.test(key) ?? false);
}

/** Turns a thrown value into a one-line message with credentials removed: safe for logs and responses. */
export function safeErrorMessage(thrown: unknown, options: RedactOptions = {}): string {
  let message: string;
  if (thrown instanceof AggregateError && !thrown.message && thrown.errors.length > 0) {
    message = thrown.errors.map((inner) => safeErrorMessage(inner)).join('; ');
  } else if (thrown instanceof Error) {
    message = thrown.message || thrown.name;
    const code = (thrown as { code?: unknown }).code;
    if (typeof code === 'string' && !message.includes(code)) message = `${code}: ${message}`;
  } else if (typeof thrown === 'string') {
    message = thrown;
  } else {
    try {
      message = `non-Error thrown: ${JSON.stringify(thrown) ?? String(thrown)}`;
    } catch {
      message = 'non-Error thrown';
    }
  }
  return redactText(message.replace(/\s+/g, ' ').trim(), options);
}
