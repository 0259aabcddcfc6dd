import type { Config } from 'jest';
import base from './jest.config';

/**
 * `npm run test:cluster`: the realtime, search, auth and job tests again, on a private 3-master Redis
 * Cluster (with one replica each) started by test/cluster/global-setup.ts, plus the cluster's own
 * tests (failover drill, MariaDB replicas) in test/cluster. TestContext reads TEST_REDIS_URL, which
 * the setup points at the cluster. sitters.search.test.ts is left out (it exercises SQL filters
 * whose Redis part sitters.geo.test.ts already covers, and is the slowest file): the run stays within
 * about five minutes on CI.
 */
const config: Config = {
  ...base,
  testMatch: [
    '<rootDir>/test/cluster/**/*.test.ts',
    '<rootDir>/src/infra/geo.test.ts',
    '<rootDir>/src/infra/geo-paging.test.ts',
    '<rootDir>/src/infra/realtime/sse.test.ts',
    '<rootDir>/src/modules/auth/auth.test.ts',
    '<rootDir>/src/modules/auth/auth.refresh.test.ts',
    '<rootDir>/src/modules/auth/auth.limits.test.ts',
    '<rootDir>/src/modules/auth/auth.links.test.ts',
    '<rootDir>/src/modules/chat/chat.test.ts',
    '<rootDir>/src/modules/notifications/notifications.test.ts',
    '<rootDir>/src/modules/notifications/notifications.mail.test.ts',
    '<rootDir>/src/modules/sitters/sitters.geo.test.ts',
    '<rootDir>/src/modules/meetups/meetups.geo.test.ts',
    '<rootDir>/src/modules/meetups/meetups.live.test.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/cluster/global-setup.ts',
  // After the drill killed a node, ioredis 5.11's cluster subscribers keep a retry timer towards it
  // past disconnect(); the run would then never end. Every file closes what it opened before this.
  forceExit: true,
  globalTeardown: '<rootDir>/test/cluster/global-teardown.ts',
};

export default config;
