import { createMemoryIncidentStore } from '../stores/memory-incident-store.js';
import { describeIncidentManager } from './incident-manager.suite.js';

describeIncidentManager('memory', () => createMemoryIncidentStore());
