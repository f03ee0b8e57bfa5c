// @ops/healing — self-healing with safety rails. Exports are listed by name, grouped by concern.

// errors
export { HealingError } from './errors.js';
export type { HealingErrorCode } from './errors.js';

// actions (the contract every step of a ladder implements)
export type { ActionContext, ActionOutcome, HealingAction } from './actions/action.js';
