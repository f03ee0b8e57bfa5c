// @ops/incident/testing — helpers for a user's own tests: the store contract and a sample incident record.
export { incidentStoreContract, sampleIncident } from './incident-store-contract.js';
export { startRecordingTarget } from './recording-target.js';
export type { ReceivedRequest, RecordingTarget, TargetReply } from './recording-target.js';
