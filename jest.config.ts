import type { Config } from 'jest';

// Each test file gets its own MariaDB database (see test/helpers/context.ts), so files can run in
// parallel; two workers keep the 2-core machine and MariaDB's 151 connections comfortable.
const config: Config = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  maxWorkers: 2,
  testTimeout: 30_000,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
};

export default config;
