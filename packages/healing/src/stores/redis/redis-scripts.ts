import { createHash } from 'node:crypto';
import type { RedisCommandClient } from './redis-like.js';

/** A Lua script run with EVALSHA, falling back to EVAL when the server does not know it yet (NOSCRIPT). */
export interface RedisScript {
  source: string;
  sha: string;
}

export function defineScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

export async function runScript(
  redis: RedisCommandClient,
  script: RedisScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await redis.call('EVALSHA', script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!String((error as Error)?.message ?? error).includes('NOSCRIPT')) throw error;
    return await redis.call('EVAL', script.source, keys.length, ...keys, ...args);
  }
}

// Lock values are `<token>\x1f<budget key or empty>\x1f<owner>`; time is the server's (TIME), one clock for all.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
const PARSE = `local token, budget, owner = string.match(current, '^([^\\31]*)\\31([^\\31]*)\\31(.*)$')`;

/**
 * KEYS: lock, fence counter, budget set. ARGV: owner, ttl ms, budget max (-1: no budget).
 * The lock and the budget are checked and taken in this one script: no replica can slip between the two.
 */
export const ACQUIRE = defineScript(`${NOW}
local current = redis.call('GET', KEYS[1])
if current then
  ${PARSE}
  return {0, 'held', owner or ''}
end
local max = tonumber(ARGV[3])
local ttl = tonumber(ARGV[2])
local budgetKey = ''
if max >= 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  local held = redis.call('ZCARD', KEYS[3])
  if held >= max then return {0, 'budget', tostring(held)} end
  budgetKey = KEYS[3]
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. '\\31' .. budgetKey .. '\\31' .. ARGV[1], 'PX', ttl)
if budgetKey ~= '' then redis.call('ZADD', budgetKey, now + ttl, KEYS[1]) end
return {1, token, now + ttl}`);

/** KEYS: lock. ARGV: owner, token, ttl ms. */
export const RENEW = defineScript(`${NOW}
local current = redis.call('GET', KEYS[1])
if not current then return {0} end
${PARSE}
if owner ~= ARGV[1] or token ~= ARGV[2] then return {0} end
local ttl = tonumber(ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
if budget ~= '' then redis.call('ZADD', budget, now + ttl, KEYS[1]) end
return {1, now + ttl}`);

/** KEYS: lock. ARGV: owner, token. */
export const RELEASE = defineScript(`local current = redis.call('GET', KEYS[1])
if not current then return 0 end
${PARSE}
if owner ~= ARGV[1] or token ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
if budget ~= '' then redis.call('ZREM', budget, KEYS[1]) end
return 1`);

/** KEYS: fence counter, state. ARGV: token, JSON, ttl ms. Refuses a writer older than the newest token. */
export const PUT_STATE = defineScript(`local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
if fence > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`);

/** KEYS: all reporters, active reporters. ARGV: reporter, active (1/0), ttl ms. */
export const REPORT = defineScript(`${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local expires = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
if ARGV[2] == '1' then redis.call('ZADD', KEYS[2], expires, ARGV[1]) else redis.call('ZREM', KEYS[2], ARGV[1]) end
return {redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[1])}`);

/** KEYS: budget set. */
export const IN_REMEDIATION = defineScript(`${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`);
