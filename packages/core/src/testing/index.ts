// @ops/core/testing — helpers for a user's own tests: a manual clock and a recording logger.
export { createManualClock } from '../time/clock.js';
export type { ManualClock } from '../time/clock.js';
export { createRecordingLogger } from './recording-logger.js';
export type { RecordingLogger, LogRecord } from './recording-logger.js';
