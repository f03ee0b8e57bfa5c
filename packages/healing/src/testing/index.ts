// @ops/healing/testing — store contracts and helpers for testing healers and custom stores.
export {};
