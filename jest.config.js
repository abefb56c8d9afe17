// Nest 12 packages and @renovatebot/pep440 ship ESM only; Jest on Node 20 cannot require() them,
// so swc transforms them too.
const esmPackages = [
  '@nestjs',
  'cookie',
  'file-type',
  'strtok3',
  'token-types',
  '@tokenizer',
  'uint8array-extras',
  'load-esm',
  '@borewit',
  'uuid',
  '@renovatebot',
].join('|');
const swc = [
  '@swc/jest',
  {
    module: { type: 'commonjs' },
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
  },
];
const moduleNameMapper = {
  '^@app/(config|contracts|domain|messaging|observability|orchestration|persistence)$':
    '<rootDir>/libs/$1/src/index.ts',
  // Inside an app, one feature folder reaches another through the app's alias (see eslint.config.mjs).
  '^@(gateway|scheduler)/(.*)$': '<rootDir>/apps/$1/src/$2',
};
const common = {
  rootDir: __dirname,
  transform: { '^.+\\.(t|j|mj|cj)s$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages})/)(?!.*/node_modules/(${esmPackages})/)`],
  moduleNameMapper,
  testEnvironment: 'node',
};
module.exports = {
  // Integration tests run real Postgres, NATS and processes on a shared 2-core machine: a test's own waits bound
  // what it measures, so Jest's 5 s default would only turn a slow moment into a false failure.
  testTimeout: 30_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
