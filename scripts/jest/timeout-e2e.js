// Jest ignores `testTimeout` inside `projects`, so each tier sets its own.
jest.setTimeout(120_000);
