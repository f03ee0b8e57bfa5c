// @ops/healing/testing — store contracts and helpers for testing healers and custom stores.
export { healingStoreContract } from './healing-store-contract.js';
export { auditStoreContract } from './audit-store-contract.js';
