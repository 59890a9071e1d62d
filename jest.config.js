/**
 * Four jest projects: fast pure tests, integration (real local services), end to end, and the
 * player matrix (`npm run test:players`, not in `npm test`). All but the first run the synthesized
 * stack (cdk.out/), synthesized first when stale.
 */

// The AWS SDK's notice that its releases after January 2027 need Node 22 (see cli/start.ts).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const transform = { '^.+\\.ts$': 'ts-jest' };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };
const artifact = { globalSetup: '<rootDir>/test/support/global-setup.ts' };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      ...artifact,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    { ...common, ...artifact, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
    // The player matrix with splicing (issue 14): not yet part of `npm test` (README, "Splicing").
    { ...common, ...artifact, displayName: 'players', testMatch: ['<rootDir>/test/players/**/*.test.ts'] },
  ],
};
