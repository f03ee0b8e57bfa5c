import { OpsError } from '@ops/core';
import { describe, expect, it } from 'vitest';
import { IncidentError } from './errors.js';

describe('IncidentError', () => {
  it('is an OpsError with its own codes, recognised by isInstance and hasCode', () => {
    const cause = new Error('socket closed');
    const error = new IncidentError('STORE_CONFLICT', 'raced', { cause, isRetryable: true });
    expect(IncidentError.isInstance(error)).toBe(true);
    expect(OpsError.isInstance(error)).toBe(true);
    expect(IncidentError.hasCode(error, 'STORE_CONFLICT')).toBe(true);
    expect(IncidentError.hasCode(error, 'STORE_FAILED')).toBe(false);
    expect(IncidentError.isInstance(new OpsError('ARGUMENT_INVALID', 'x'))).toBe(false);
    expect(error).toMatchObject({ name: 'IncidentError', code: 'STORE_CONFLICT', isRetryable: true, cause });
  });
});
