import { OpsError } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { CapacityError } from './errors.js';

describe('CapacityError', () => {
  it('is an OpsError with its code and cause, recognised by isInstance and hasCode', () => {
    const cause = new Error('connection refused');
    const error = new CapacityError('SOURCE_FAILED', 'query failed', { cause, isRetryable: true });
    expect(error).toBeInstanceOf(OpsError);
    expect(error.name).toBe('CapacityError');
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.cause).toBe(cause);
    expect(error.isRetryable).toBe(true);
    expect(CapacityError.isInstance(error)).toBe(true);
    expect(CapacityError.hasCode(error, 'SOURCE_FAILED')).toBe(true);
    expect(CapacityError.hasCode(error, 'FIT_FAILED')).toBe(false);
    expect(CapacityError.isInstance(new OpsError('ARGUMENT_INVALID', 'x'))).toBe(false);
  });
});
