import { OpsError, type OpsErrorOptions } from '@ops/core';

/**
 * An SLO specification or an SLO operation that cannot be honoured (unknown SLO name, event for an SLO of another
 * SLI type). Configuration files that fail validation throw `ConfigError` instead, naming every bad path.
 */
export class SloError extends OpsError {
  constructor(message: string, options: OpsErrorOptions = {}) {
    super('SLO_INVALID', message, options);
  }
}
