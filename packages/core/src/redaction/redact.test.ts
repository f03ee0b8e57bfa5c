import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/config-error.js';
import { REDACTED, redact, redactText, safeErrorMessage } from './redact.js';

// Realistic strings with the secret each must lose and the context that must survive.
// Token-shaped strings are assembled at runtime so the source file itself holds no scanner-triggering literal.
const fake = (
  prefix: string,
  length: number,
  alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
) => prefix + Array.from({ length }, (_, index) => alphabet[(index * 7 + 3) % alphabet.length]).join('');

const jwt = `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.${fake('', 43)}`;
const github = fake('ghp_', 36);
const githubFine = fake('github_pat_', 60);
const slackBot = `xoxb-${fake('', 12, '0123456789')}-${fake('', 12, '0123456789')}-${fake('', 24)}`;
const slackHook = `https://hooks.slack.com/services/T${fake('', 8, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}/B${fake('', 8, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')}/${fake('', 24)}`;
const stripe = fake('sk_live_', 24);
const awsKeyId = fake('AKIA', 16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567');
const awsSecret = fake('', 40, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+');
const ageKey = fake('AGE-SECRET-KEY-1', 58, 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L');

const corpus: Array<{ text: string; secrets: string[]; keeps: string[] }> = [
  {
    text: 'connect ECONNREFUSED postgres://app:hunter2@db.internal:5432/orders',
    secrets: ['hunter2'],
    keeps: ['postgres://app:', '@db.internal:5432/orders'],
  },
  {
    text: 'postgresql://user:p%40ss%3Aword@10.0.0.5/db?sslmode=require',
    secrets: ['p%40ss%3Aword'],
    keeps: ['10.0.0.5/db?sslmode=require'],
  },
  { text: 'redis://:s3cr3tRedis@cache:6379/0', secrets: ['s3cr3tRedis'], keeps: ['redis://', '@cache:6379/0'] },
  {
    text: 'rediss://default:AbCdEf123456@redis.example.com:6380',
    secrets: ['AbCdEf123456'],
    keeps: ['redis.example.com:6380'],
  },
  {
    text: 'mongodb+srv://root:rootpw@cluster0.mongodb.net/admin',
    secrets: ['rootpw'],
    keeps: ['cluster0.mongodb.net'],
  },
  { text: 'amqp://guest:guestpass@rabbit:5672/%2f', secrets: ['guestpass'], keeps: ['rabbit:5672'] },
  {
    text: 'host=db port=5432 user=app password=libpqSecret dbname=app sslmode=disable',
    secrets: ['libpqSecret'],
    keeps: ['host=db', 'dbname=app'],
  },
  { text: "host=db password='quoted secret' user=app", secrets: ['quoted secret'], keeps: ['user=app'] },
  { text: 'Server=sql;Database=app;User Id=sa;Password=MsSqlPw1!;', secrets: ['MsSqlPw1!'], keeps: ['Database=app'] },
  {
    text: 'GET /export?user=1&token=abcdef123456&format=csv',
    secrets: ['abcdef123456'],
    keeps: ['format=csv', 'user=1'],
  },
  {
    text: 'https://s3.amazonaws.com/b/k?X-Amz-Credential=x&X-Amz-Signature=deadbeefcafebabe0123',
    secrets: ['deadbeefcafebabe0123'],
    keeps: ['s3.amazonaws.com/b/k'],
  },
  {
    text: 'Authorization: Bearer abc.def.ghi-very-secret-token',
    secrets: ['abc.def.ghi-very-secret-token'],
    keeps: ['Authorization: '],
  },
  { text: 'authorization: Basic dXNlcjpwYXNzd29yZA==', secrets: ['dXNlcjpwYXNzd29yZA=='], keeps: ['authorization: '] },
  {
    text: 'curl -H "Authorization: Token 1234567890abcdef" https://api',
    secrets: ['1234567890abcdef'],
    keeps: ['curl -H'],
  },
  { text: 'Cookie: session=8f2a9c1d; csrftoken=zz99xx88', secrets: ['8f2a9c1d', 'zz99xx88'], keeps: ['Cookie: '] },
  {
    text: 'Set-Cookie: sid=s%3Aabcdef.123456; Path=/; HttpOnly',
    secrets: ['s%3Aabcdef.123456'],
    keeps: ['Set-Cookie: '],
  },
  { text: 'X-Api-Key: key-live-778899', secrets: ['key-live-778899'], keeps: ['X-Api-Key: '] },
  {
    text: `request failed with jwt ${jwt} attached`,
    secrets: [jwt.split('.')[2] as string, jwt.split('.')[1] as string],
    keeps: ['request failed with jwt', 'attached'],
  },
  {
    text: `git clone https://${github}@github.com/org/repo.git`,
    secrets: [github],
    keeps: ['github.com/org/repo.git'],
  },
  { text: `GITHUB_TOKEN is ${githubFine}`, secrets: [githubFine], keeps: ['GITHUB_TOKEN is'] },
  { text: `slack auth failed for ${slackBot}`, secrets: [slackBot], keeps: ['slack auth failed for'] },
  { text: `stripe key ${stripe} rejected`, secrets: [stripe], keeps: ['stripe key', 'rejected'] },
  {
    text: `aws_access_key_id = ${awsKeyId}\naws_secret_access_key = ${awsSecret}`,
    secrets: [awsKeyId, awsSecret],
    keeps: ['aws_access_key_id'],
  },
  {
    text: `# created: 2026-01-01\n# public key: age1qqq\n${ageKey}`,
    secrets: [ageKey],
    keeps: ['public key: age1qqq'],
  },
  {
    text: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----',
    secrets: ['b3BlbnNzaC1rZXktdjEAAAAA'],
    keeps: [],
  },
  {
    text: 'OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz123456',
    secrets: ['abcdefghijklmnopqrstuvwxyz123456'],
    keeps: ['OPENAI_API_KEY'],
  },
];

describe('redactText', () => {
  it.each(corpus.map((entry) => [entry.text.split('\n')[0]?.slice(0, 60), entry] as const))(
    'redacts %s',
    (_label, entry) => {
      const out = redactText(entry.text);
      for (const secret of entry.secrets) expect(out).not.toContain(secret);
      for (const kept of entry.keeps) expect(out).toContain(kept);
      expect(out).toContain(REDACTED);
    },
  );

  it('redacts a Slack webhook URL path when it is passed as a known secret', () => {
    const out = redactText(`POST ${slackHook} failed`, { secrets: [slackHook] });
    expect(out).toBe(`POST ${REDACTED} failed`);
  });

  it('leaves ordinary text alone', () => {
    for (const text of [
      'GET /health 200 3ms',
      'https://example.com/docs?page=2',
      'postgres://db.internal:5432/app',
      'user app connected to db',
      'the token bucket refilled',
      'passwords must be rotated every 90 days',
      '2026-01-01T00:00:00Z ok',
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });

  it('removes known secrets verbatim, ignoring very short ones', () => {
    expect(redactText('login as admin with opensesame', { secrets: ['opensesame', 'as'] })).toBe(
      `login as admin with ${REDACTED}`,
    );
  });
});

describe('redact', () => {
  it('replaces sensitive keys in nested objects and redacts strings everywhere', () => {
    const input = {
      service: 'api',
      database: { url: 'postgres://app:pw1234@db/app', password: 'pw1234', port: 5432 },
      headers: { Authorization: 'Bearer zzz', cookie: 'a=b', 'x-request-id': 'r-1' },
      providers: [{ name: 'slack', token: 'xoxb-1', apiKey: 'k', api_key: 'k2', clientSecret: 'cs' }],
      notes: ['call redis://:pw@cache:6379'],
      missing: { password: undefined, token: null },
    };
    const out = redact(input);
    expect(out).toEqual({
      service: 'api',
      database: { url: `postgres://app:${REDACTED}@db/app`, password: REDACTED, port: 5432 },
      headers: { Authorization: REDACTED, cookie: REDACTED, 'x-request-id': 'r-1' },
      providers: [{ name: 'slack', token: REDACTED, apiKey: REDACTED, api_key: REDACTED, clientSecret: REDACTED }],
      notes: [`call redis://:${REDACTED}@cache:6379`],
      missing: { password: undefined, token: null },
    });
    expect(input.database.password).toBe('pw1234'); // input untouched
  });

  it('turns Errors into { name, message } with a redacted message and no stack', () => {
    const error = new Error('connect failed: postgres://app:hunter2@db/app');
    expect(redact({ error })).toEqual({
      error: { name: 'Error', message: `connect failed: postgres://app:${REDACTED}@db/app` },
    });
  });

  it('handles cycles, depth, Maps, Dates, typed arrays and extra sensitive keys', () => {
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    expect(redact(cyclic)).toEqual({ name: 'a', self: '[Circular]' });
    let deep: Record<string, unknown> = { leaf: true };
    for (let index = 0; index < 10; index++) deep = { inner: deep };
    expect(JSON.stringify(redact(deep, { maxDepth: 3 }))).toBe('{"inner":{"inner":{"inner":"[Truncated]"}}}');
    const map = redact(
      new Map<string, unknown>([
        ['password', 'x'],
        ['host', 'db'],
      ]),
    );
    expect([...map]).toEqual([
      ['password', REDACTED],
      ['host', 'db'],
    ]);
    const date = new Date(0);
    expect(redact({ at: date }).at).toEqual(date);
    const bytes = new Uint8Array([1, 2]);
    expect(redact({ bytes }).bytes).toBe(bytes);
    expect(redact({ tenantRef: 'abc' }, { sensitiveKeys: /tenantRef/ })).toEqual({ tenantRef: REDACTED });
    expect(redact(5)).toBe(5);
  });
});

describe('safeErrorMessage', () => {
  it('gives a one-line redacted message with the error code', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED\n  redis://:pw9876@cache:6379'), {
      code: 'ECONNREFUSED',
    });
    expect(safeErrorMessage(error)).toBe(`connect ECONNREFUSED redis://:${REDACTED}@cache:6379`);
    const coded = Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' });
    expect(safeErrorMessage(coded)).toBe('ETIMEDOUT: timeout');
  });

  it('joins AggregateError members and handles non-Error values', () => {
    const aggregate = new AggregateError([new Error('a: password=x1y2z3'), new Error('b')]);
    expect(safeErrorMessage(aggregate)).toBe(`a: password=${REDACTED}; b`);
    expect(safeErrorMessage('Bearer abcdefghijkl')).toBe(`Bearer ${REDACTED}`);
    expect(safeErrorMessage({ status: 500 })).toBe('non-Error thrown: {"status":500}');
    expect(safeErrorMessage(new Error(''))).toBe('Error');
  });
});

// Shapes that leaked through @ops/health's log lines, events and CLI before the redactor learnt them (issue 10).
describe('hardened shapes', () => {
  const leaked: Array<{ label: string; text: string; secrets: string[]; keeps: string[] }> = [
    {
      label: 'JSON body in an error message',
      text: 'login failed: 401 {"user":"app","password":"hunter2-json","retry":false}',
      secrets: ['hunter2-json'],
      keeps: ['login failed: 401', '"user":"app"', '"retry":false', '"password":'],
    },
    {
      label: 'JSON with spaces and an access_token',
      text: 'token endpoint answered { "access_token" : "at-9f8e7d6c5b4a", "token_type": "bearer", "expires_in": 3600 }',
      secrets: ['at-9f8e7d6c5b4a'],
      keeps: ['token endpoint answered', '"expires_in": 3600'],
    },
    {
      label: 'camelCase JSON keys',
      text: '{"clientSecret":"cs-112233445566","apiKey":"ak-665544332211","name":"svc"}',
      secrets: ['cs-112233445566', 'ak-665544332211'],
      keeps: ['"name":"svc"'],
    },
    {
      label: 'escaped JSON inside JSON',
      text: '{"body":"{\\"password\\":\\"esc-4d5e6f7a\\",\\"user\\":\\"app\\"}"}',
      secrets: ['esc-4d5e6f7a'],
      keeps: ['\\"user\\":\\"app\\"'],
    },
    {
      label: 'numeric JSON secret',
      text: '{"pin":1,"password":987654321}',
      secrets: ['987654321'],
      keeps: ['"pin":1'],
    },
    {
      label: 'lowercase bearer',
      text: 'upstream rejected bearer abcdefgh12345678 for /v1/users',
      secrets: ['abcdefgh12345678'],
      keeps: ['upstream rejected', 'for /v1/users'],
    },
    {
      label: 'uppercase BEARER',
      text: 'sent BEARER QWERTYUIOP0987 to the gateway',
      secrets: ['QWERTYUIOP0987'],
      keeps: ['to the gateway'],
    },
    {
      label: 'URL without "://"',
      text: 'not a URL: "http//admin:pa55word@api.internal/health"',
      secrets: ['pa55word'],
      keeps: ['not a URL', 'admin', '@api.internal/health'],
    },
    {
      label: 'URL with a single slash',
      text: 'bad target postgres:/app:s1ngle-slash@db:5432/app',
      secrets: ['s1ngle-slash'],
      keeps: ['@db:5432/app'],
    },
    {
      label: 'scheme-relative URL',
      text: 'fetch //svc:rel-pw-77@cache.internal:6379 failed',
      secrets: ['rel-pw-77'],
      keeps: ['@cache.internal:6379 failed'],
    },
    {
      label: 'bare user:password@host',
      text: 'connecting to app:bare-pw-55@10.0.0.7:5432/orders',
      secrets: ['bare-pw-55'],
      keeps: ['@10.0.0.7:5432/orders', 'connecting to'],
    },
  ];

  it.each(leaked.map((entry) => [entry.label, entry] as const))('redacts %s', (_label, entry) => {
    const out = redactText(entry.text);
    for (const secret of entry.secrets) expect(out).not.toContain(secret);
    for (const kept of entry.keeps) expect(out).toContain(kept);
    expect(out).toContain(REDACTED);
  });

  it('an Authorization header redacts its credential, not the rest of the message', () => {
    expect(redactText('GET /v1/users (Authorization: Bearer abc.def.ghi-token-123) answered 401 after 12ms')).toBe(
      `GET /v1/users (Authorization: Bearer ${REDACTED}) answered 401 after 12ms`,
    );
    expect(redactText('authorization: bearer tok-0123456789, retrying in 5s')).toBe(
      `authorization: bearer ${REDACTED}, retrying in 5s`,
    );
    expect(redactText('Authorization: Basic dXNlcjpwYXNzd29yZA== then 403')).toBe(
      `Authorization: Basic ${REDACTED} then 403`,
    );
    expect(redactText('x-api-key: key-live-778899 was refused')).toBe(`x-api-key: ${REDACTED} was refused`);
    // schemes whose parameters carry secrets after spaces keep the whole-line redaction
    const digest = redactText('Authorization: Digest username="app", response="6629fae49393a05397450978507c4ef1"');
    expect(digest).not.toContain('6629fae4');
    expect(digest).not.toContain('username="app"');
  });

  it('leaves ordinary text with colons, @ and the words bearer/basic alone', () => {
    for (const text of [
      'retry at 12:30 tomorrow',
      'mail ops@example.com about it',
      'git@github.com:org/repo.git',
      'ratio 3:4 observed',
      'basic authentication is disabled',
      'the bearer of bad news',
      '{"status":"fail","durationMs":12,"name":"db"}',
      'https://example.com/a?b=c',
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });

  it('redaction is idempotent', () => {
    for (const entry of leaked) {
      const once = redactText(entry.text);
      expect(redactText(once)).toBe(once);
    }
  });
});

describe('safeErrorMessage (hardened)', () => {
  it('a thrown non-Error object loses its sensitive fields before it is serialized', () => {
    const message = safeErrorMessage({
      error: 'invalid_grant',
      access_token: 'at-live-5566778899',
      refresh_token: 'rt-1122',
      nested: { clientSecret: 'cs-9' },
    });
    expect(message).not.toMatch(/at-live-5566778899|rt-1122|cs-9/);
    expect(message).toContain('invalid_grant');
    expect(message).toContain(REDACTED);
  });

  it('applies `secrets` to every member of an AggregateError', () => {
    const aggregate = new AggregateError([new Error('first s3cr3t-value'), new Error('second s3cr3t-value')]);
    expect(safeErrorMessage(aggregate, { secrets: ['s3cr3t-value'] })).toBe(`first ${REDACTED}; second ${REDACTED}`);
  });
});

describe('safeErrorMessage of an error listing config issues', () => {
  it('a path ending in a sensitive key does not read as a key/value pair, and secrets in the text still go', () => {
    const issues = [
      { path: 'storage.password', message: 'required (expected string)' },
      { path: 'webhook.headers.authorization', message: 'environment variable WEBHOOK_AUTH is not set' },
      { path: 'token', message: 'expected string' },
      { path: 'database.url', message: 'cannot reach postgres://app:hunter2@db:5432/app' },
    ];
    const error = new ConfigError(
      `invalid ops.yaml: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
      issues,
    );
    expect(safeErrorMessage(error)).toBe(
      'CONFIG_INVALID: invalid ops.yaml: storage.password: required (expected string); webhook.headers.authorization: environment variable WEBHOOK_AUTH is not set; token: expected string; database.url: cannot reach postgres://app:[REDACTED]@db:5432/app',
    );
    // The same text without the structure is still redacted as before.
    expect(safeErrorMessage(new Error('password: hunter2'))).toBe(`password: ${REDACTED}`);
  });
});
