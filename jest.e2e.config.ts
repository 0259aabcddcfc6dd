import type { Config } from 'jest';
import base from './jest.config';

// Browser end-to-end tests (`npm run test:e2e`): test/e2e/*.e2e.ts, one file at a time, with
// Chromium. Kept out of `npm test` (whose testMatch is *.test.ts) because they need a browser.
const config: Config = {
  ...base,
  roots: ['<rootDir>/test/e2e'],
  testMatch: ['**/*.e2e.ts'],
  maxWorkers: 1,
  testTimeout: 240_000,
};

export default config;
