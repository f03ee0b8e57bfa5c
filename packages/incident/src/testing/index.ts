// @ops/incident/testing — helpers for a user's own tests: the store contract and a sample incident record.
export { incidentStoreContract, sampleIncident } from './incident-store-contract.js';
