/** Version written into manifests (`tool.version`). Kept in step with package.json by a test. */
export const PACKAGE_VERSION = '0.0.0';
