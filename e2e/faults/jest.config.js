// The fault-injection suite (docs/faults.md): a config of its own, so that `npm test` and a plain
// `jest` never run it. `npm run test:faults` builds first, then runs it in band.
const { join } = require('node:path');

// The repository's e2e tier, with its transform, path aliases and setup files.
const root = require(join(__dirname, '..', '..', 'jest.config.js'));
const e2e = root.projects.find((project) => project.displayName === 'e2e');

module.exports = {
  ...e2e,
  rootDir: join(__dirname, '..', '..'),
  displayName: 'faults',
  testMatch: ['<rootDir>/e2e/faults/**/*.faults-spec.ts'],
};
