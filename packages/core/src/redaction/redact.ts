/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

const SENSITIVE_KEY =
  /pass(word|wd|phrase)?|pwd|secret|token|api[-_]?key|auth(orization)?$|cookie|credential|private[-_]?key|session[-_]?id|access[-_]?key|signature/i;

/** Whether a key names a secret, in objects and in JSON text alike (`password`, `access_token`, `apiKey`, …). */
function isSensitiveKeyName(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

interface Rule {
  pattern: RegExp;
  replace: (match: string, ...groups: string[]) => string;
}

// Header values that are one credential, optionally behind a scheme: only that credential is replaced, so the rest
// of the message (status, path, timing) survives. Anything else after such a header name is replaced up to the
// end of the line: cookie lists and schemes whose parameters carry secrets after spaces (Digest, AWS4-HMAC-SHA256).
const SINGLE_CREDENTIAL = /^(?:(bearer|basic|token|bot|apikey|key)\s+)?([^\s,;"'()<>[\]{}]+)(?=$|[\s,;"'()<>[\]{}])/i;
const SCHEME_WITH_PARAMETERS = /^[A-Za-z][\w-]*\s+\S/;

function redactHeaderValue(name: string, value: string): string {
  // Already redacted by an earlier rule (`x-api-key: …` is also a key=value pair): keep what follows.
  if (value.startsWith(REDACTED)) return value;
  const lower = name.toLowerCase();
  if (lower === 'cookie' || lower === 'set-cookie') return REDACTED;
  if (lower === 'x-api-key' || lower === 'x-auth-token') {
    const token = /^[^\s,;"'()<>[\]{}]+/.exec(value);
    return token ? `${REDACTED}${value.slice(token[0].length)}` : REDACTED;
  }
  const credential = SINGLE_CREDENTIAL.exec(value);
  if (!credential) return REDACTED;
  const [whole, scheme] = credential;
  // "Digest username=…, response=…" or an unknown scheme: its parameters follow, so nothing of the line is kept.
  if (scheme === undefined && SCHEME_WITH_PARAMETERS.test(value)) return REDACTED;
  return `${scheme === undefined ? '' : `${scheme} `}${REDACTED}${value.slice(whole.length)}`;
}

// A JSON key (also escaped once, as in a JSON body inside a JSON string) and its separator; the value is read by
// `jsonValueLength` so that values of other keys are not consumed and nested JSON strings are still scanned.
const JSON_KEY = /(\\?")([^"\\\r\n]{1,64})\\?"\s*:\s*/g;

/** Length of the JSON value starting at `start` (a string, escaped string, or bare number/literal), or 0. */
function jsonValueLength(text: string, start: number, escaped: boolean): number {
  if (
    text.startsWith(REDACTED, start) ||
    text.startsWith(`"${REDACTED}"`, start) ||
    text.startsWith(`\\"${REDACTED}\\"`, start)
  )
    return 0;
  if (escaped && text.startsWith('\\"', start)) {
    const end = text.indexOf('\\"', start + 2);
    return end < 0 ? 0 : end + 2 - start;
  }
  if (text[start] === '"') {
    for (let index = start + 1; index < text.length; index++) {
      const char = text[index];
      if (char === '\\') index++;
      else if (char === '"') return index + 1 - start;
      else if (char === '\n' || char === '\r') return 0;
    }
    return 0;
  }
  const bare = /^[^\s,}\]"\\]+/.exec(text.slice(start, start + 256));
  return bare ? bare[0].length : 0;
}

/** Replaces the values of JSON keys naming a secret: `{"password":"…"}`, `{ "access_token": "…" }`, `{"password":1234}`. */
function redactJsonPairs(text: string): string {
  if (!text.includes('"')) return text;
  let out = '';
  let copied = 0;
  JSON_KEY.lastIndex = 0;
  for (let match = JSON_KEY.exec(text); match; match = JSON_KEY.exec(text)) {
    const key = match[2] as string;
    if (!isSensitiveKeyName(key)) continue;
    const valueStart = match.index + match[0].length;
    const escaped = match[1] === '\\"';
    const length = jsonValueLength(text, valueStart, escaped);
    if (length === 0) continue;
    const value = text.slice(valueStart, valueStart + length);
    const quote = value.startsWith('\\"') ? '\\"' : value.startsWith('"') ? '"' : '';
    out += `${text.slice(copied, valueStart)}${quote}${REDACTED}${quote}`;
    copied = valueStart + length;
    JSON_KEY.lastIndex = copied;
  }
  return copied === 0 ? text : out + text.slice(copied);
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
  // URL-ish text without "://" that still carries user:password@host: a mistyped URL ("http//u:p@h",
  // "postgres:/u:p@h"), a scheme-relative one ("//u:p@h") or a bare "user:password@host:port/db". The user part
  // starts after a character that cannot belong to it, so "scheme://" forms (handled above) are not rescanned.
  {
    pattern: /(?<![\w.~%+-])([\w.~%+-]{1,64}):([^\s:@/"'<>[\]{}]{1,256})@(?=[A-Za-z0-9[])/g,
    replace: (match, user: string, password: string) => (password === REDACTED ? match : `${user}:${REDACTED}@`),
  },
  // key=value pairs in libpq / ADO / JDBC strings, env files and query strings: password=..., pwd=...,
  // sslpassword=..., and prefixed names such as DB_PASSWORD=... or aws_secret_access_key = ... (the keyword may
  // follow `_` or `-`; matching the prefix itself would make the scan quadratic on long dashed words)
  {
    pattern:
      /(?:\b|(?<=[_-]))((?:(?:ssl)?pass(?:word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|auth[_-]?token|x-amz-signature|signature|sig))(\s*[=:]\s*)('[^']*'|"[^"]*"|[^\s;&,'"]+)/gi,
    replace: (_match, key: string, separator: string) => `${key}${separator}${REDACTED}`,
  },
  // Authorization-style headers in text: "Authorization: Bearer abc" (the credential only), "Cookie: a=b; c=d"
  {
    pattern: /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token)(\s*:\s*)([^\r\n]+)/gi,
    replace: (_match, name: string, separator: string, value: string) =>
      `${name}${separator}${redactHeaderValue(name, value)}`,
  },
  // Bearer credentials wherever they appear, in any case ("bearer", "BEARER")
  { pattern: /\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi, replace: (_match, kind: string) => `${kind} ${REDACTED}` },
  // Basic / Token credentials (capitalized: "basic authentication" in prose is not a credential)
  { pattern: /\b(Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}/g, replace: (_match, kind: string) => `${kind} ${REDACTED}` },
  // JSON Web Tokens
  { pattern: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, replace: () => REDACTED },
  // Well-known token prefixes: GitHub, GitLab, Slack, Stripe, OpenAI/Anthropic, npm, SendGrid, Google API keys
  {
    pattern:
      /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|npm_[A-Za-z0-9]{30,}|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|AIza[0-9A-Za-z_-]{35})/g,
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
  out = redactJsonPairs(out);
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
    for (const [key, inner] of value)
      out.set(key, isSensitiveKey(key, options) ? REDACTED : walk(inner, options, depth + 1, seen));
    return out;
  }
  if (ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] =
      isSensitiveKey(key, options) && inner !== undefined && inner !== null
        ? REDACTED
        : walk(inner, options, depth + 1, seen);
  }
  return out;
}

function isSensitiveKey(key: unknown, options: RedactOptions): boolean {
  if (typeof key !== 'string') return false;
  return isSensitiveKeyName(key) || (options.sensitiveKeys?.test(key) ?? false);
}

/** Turns a thrown value into a one-line message with credentials removed: safe for logs and responses. */
export function safeErrorMessage(thrown: unknown, options: RedactOptions = {}): string {
  let message: string;
  if (thrown instanceof AggregateError && !thrown.message && thrown.errors.length > 0) {
    message = thrown.errors.map((inner) => safeErrorMessage(inner, options)).join('; ');
  } else if (thrown instanceof Error) {
    const code = (thrown as { code?: unknown }).code;
    const text = redactErrorMessage(thrown, options);
    return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
  } else if (typeof thrown === 'string') {
    message = thrown;
  } else {
    try {
      // Sensitive fields (`access_token`, `password`, …) are replaced before the object becomes text.
      message = `non-Error thrown: ${JSON.stringify(redact(thrown, options)) ?? String(thrown)}`;
    } catch {
      message = 'non-Error thrown';
    }
  }
  return redactText(oneLine(message), options);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** `issues` of an error that lists them as `path: message` in its message (core's `ConfigError`), else `undefined`. */
function pathIssues(error: Error): ReadonlyArray<{ path: string; message: string }> | undefined {
  const issues = (error as { issues?: unknown }).issues;
  if (!Array.isArray(issues) || issues.length === 0) return undefined;
  const valid = issues.every(
    (issue) =>
      typeof issue === 'object' &&
      issue !== null &&
      typeof issue.path === 'string' &&
      typeof issue.message === 'string',
  );
  return valid ? (issues as Array<{ path: string; message: string }>) : undefined;
}

/**
 * An error's message on one line with credentials removed, without the code prefix of {@link safeErrorMessage}.
 *
 * The `path: message` lines of an error listing config issues are redacted one part at a time: a path ending in a
 * key that names a secret (`storage.password: required`) would otherwise read as a `password: <value>` pair and
 * lose its message, while a secret inside a message or a path is still removed.
 */
export function redactErrorMessage(error: Error, options: RedactOptions = {}): string {
  const message = oneLine(error.message || error.name);
  const issues = pathIssues(error);
  if (!issues) return redactText(message, options);
  const parts: string[] = [];
  let rest = message;
  for (const issue of issues) {
    const path = oneLine(issue.path);
    const text = oneLine(issue.message);
    const line = `${path}: ${text}`;
    const at = path === '' ? -1 : rest.indexOf(line);
    if (at < 0) continue;
    parts.push(redactText(rest.slice(0, at), options), `${redactText(path, options)}: ${redactText(text, options)}`);
    rest = rest.slice(at + line.length);
  }
  parts.push(redactText(rest, options));
  return parts.join('');
}
