import { defineConfig } from 'tsup';
import { packageBuild } from '../../scripts/tsup-package.js';

export default defineConfig(packageBuild({ cli: true }));
