// @ops/core/testing — helpers for a user's own tests: a manual clock, a recording logger and a manual signal.
export { createManualClock } from '../time/clock.js';
export type { ManualClock } from '../time/clock.js';
export { createRecordingLogger } from './recording-logger.js';
export type { RecordingLogger, LogRecord } from './recording-logger.js';
export { createManualSignal } from './manual-signal.js';
export type { ManualSignal } from './manual-signal.js';
export { defineStoreContract, runStoreContract } from './store-contract.js';
export type {
  ContractCase,
  ContractImplementation,
  ContractSubject,
  ContractTestFunctions,
  RunStoreContractOptions,
  StoreContract,
} from './store-contract.js';
export { lockStoreContract } from './lock-store-contract.js';
export { createRecordingAlertSink } from './recording-alert-sink.js';
export type { RecordingAlertSink } from './recording-alert-sink.js';
