// @ops/health/testing — in-memory helpers for your own tests.
export { createFakeCheck } from './fake-check.js';
export type { FakeCheck, FakeCheckOptions } from './fake-check.js';
export { createManualClock, createRecordingAlertSink, createRecordingLogger } from '@ops/core/testing';
export type { ManualClock, RecordingAlertSink, RecordingLogger, LogRecord } from '@ops/core/testing';
