/**
 * The part of an `ioredis` client the Redis stores use: `call(command, ...args)`. Typed structurally, so ioredis
 * stays an optional peer dependency and the published declarations never import it; pass your `Redis` instance.
 */
export interface RedisCommandClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}
