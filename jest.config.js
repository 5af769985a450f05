// Jest 30 in native ESM mode (run with `node --experimental-vm-modules`, see package.json).
// Three projects, chosen by file suffix:
//   unit  `**/*.test.ts`            pure, fast, no I/O
//   int   `**/*.int.test.ts`        real PostgreSQL / NATS
//   e2e   `e2e/**/*.e2e.test.ts`    the whole supergraph through the gateway
// `npm run test:<tier>` selects one project; timeouts and worker counts per tier are set there
// (`testTimeout` and `maxWorkers` are global options in Jest, not per-project ones).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const rootDir = path.dirname(fileURLToPath(import.meta.url));

// @swc/core may unpack its native binding on first load; keep it inside the repo.
process.env.SWC_NATIVE_BINDING_CACHE ??= path.join(rootDir, '.cache', 'swc');

/** @type {import('@swc/core').Options} */
const swc = {
  // Keep ESM (Jest runs the output as ES modules) and leave `.ts` import specifiers untouched:
  // Jest resolves them to the files on disk.
  module: { type: 'es6' },
  jsc: {
    target: 'es2024',
    parser: { syntax: 'typescript' },
    keepClassNames: true,
  },
  sourceMaps: 'inline',
};

/** Directories that hold sources; `.data` (database files) and `.cache` are never crawled. */
const sourceRoots = ['gateway', 'subgraphs', 'shared', 'nats', 'scripts', 'test', 'bench', 'e2e'].map(
  (dir) => `<rootDir>/${dir}`,
);

/** @type {import('jest').Config} */
const common = {
  rootDir,
  cacheDirectory: '<rootDir>/.cache/jest',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  // bench/peers holds peer gateways with a node_modules of their own (bench/gateway.ts).
  modulePathIgnorePatterns: ['<rootDir>/.data/', '<rootDir>/.cache/', '<rootDir>/bench/peers/'],
  clearMocks: true,
  restoreMocks: true,
};

/** @type {import('jest').Config} */
export default {
  passWithNoTests: true,
  projects: [
    {
      ...common,
      displayName: 'unit',
      roots: sourceRoots,
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.int\\.test\\.ts$', '\\.e2e\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'int',
      roots: sourceRoots,
      testMatch: ['**/*.int.test.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
    },
    {
      ...common,
      displayName: 'e2e',
      roots: ['<rootDir>/e2e'],
      testMatch: ['**/*.e2e.test.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
    },
  ],
};
