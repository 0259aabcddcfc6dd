import type { Config } from 'jest';

const ESM_ONLY = ['openid-client', 'oauth4webapi', 'jose'];
const ESM_ONLY_JS = `/node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`;

// Each test file gets its own MariaDB database (see test/helpers/context.ts), so files can run in
// parallel; two workers keep the 2-core machine and MariaDB's 151 connections comfortable.
const config: Config = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/cluster starts private Redis Cluster and MariaDB replica servers: `npm run test:cluster` only.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  maxWorkers: 2,
  testTimeout: 30_000,
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
    // openid-client and its two dependencies ship ES modules only. Node (≥ 20.19) loads them from our
    // CommonJS build with require(esm), but Jest's own module loader cannot before Node 24.9, so under
    // Jest they are compiled to CommonJS.
    [ESM_ONLY_JS]: ['ts-jest', { tsconfig: { allowJs: true, checkJs: false }, isolatedModules: true }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
};

export default config;
