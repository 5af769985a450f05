// ESLint flat config: typescript-eslint's recommended rules, plus the type-aware rules that catch
// what the compiler lets through (a promise nobody awaits, an `any` that spreads untyped data)
// through typescript-eslint's project service, which reads tsconfig.json.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Raw SQL lives in the typed stores (`subgraphs/*/src/domain/*.store.ts`, SQL built from the
// entities), the database layer itself, the shared messaging tables (outbox, inbox, relay) that
// no entity describes, migrations, scripts and tests. Anywhere else a statement goes through a
// store or the ORM, so that adding a column takes the migration and the entity, and the compiler
// finds every other place.
const RAW_SQL_ALLOWED = [
  'subgraphs/*/src/domain/*.store.ts',
  'subgraphs/*/src/migrations/**',
  'shared/db/**',
  'shared/messaging/**',
  'scripts/**',
  'bench/**',
  'e2e/**',
  'test/**',
  '**/test/**',
  '**/*.test.ts',
];
const RAW_SQL = 'Raw SQL belongs in a typed store (domain/*.store.ts) or the ORM; see eslint.config.js.';

export default defineConfig(
  globalIgnores([
    'node_modules/',
    '.cache/',
    '.data/',
    'coverage/',
    'dist/',
    // Peer gateways for bench/gateway.ts, with dependencies of their own.
    'bench/peers/',
    // Resolver types written by `npm run codegen` (codegen.ts); `npm run codegen:check` keeps them current.
    'subgraphs/*/src/generated/',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A promise nobody awaits loses its rejection (an unhandled rejection ends the process) and
      // its ordering: await it, or `void` it with a comment that says who handles its failure.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `any` (JSON.parse, a library without types) is parsed with zod or narrowed by a type
      // guard before it is used.
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
    },
  },
  {
    // Tests read the running system's JSON answers (GraphQL responses, rows, metrics) and check
    // them with `expect(...).toEqual(...)`: a wrong shape fails the assertion at run time, so
    // typing every answer would add ceremony and catch nothing more. A floating promise in a test
    // still lets it pass before its work is done, so those rules stay on.
    files: ['e2e/**', 'test/**', '**/test/**', '**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // Small units with one job: a file over 300 lines or a function over 80 (blank lines and
    // comments not counted) is split, or carries a disable comment that says why it is not.
    files: ['gateway/**/*.ts', 'subgraphs/**/*.ts', 'shared/**/*.ts', 'scripts/**/*.ts', 'nats/**/*.ts'],
    ignores: ['**/*.test.ts', '**/test/**', '**/migrations/**', '**/generated/**'],
    rules: {
      'max-lines': ['error', { max: 300, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ['**/*.ts', '**/*.js'],
    ignores: RAW_SQL_ALLOWED,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kysely', message: RAW_SQL },
            { name: 'pg', message: RAW_SQL },
            ...['@mikro-orm/core', '@mikro-orm/postgresql', '@mikro-orm/sql'].map((name) => ({
              name,
              importNames: ['raw', 'sql', 'Kysely', 'CompiledQuery'],
              message: RAW_SQL,
            })),
          ],
          patterns: [{ group: ['**/db/statements.ts', '**/db/pipelined-client.ts'], message: RAW_SQL }],
        },
      ],
      'no-restricted-syntax': [
        'error',
        // em.execute(`select ...`), conn.execute('select ...'): SQL text given to any `execute`
        // (a query builder's `execute()` and `execute('run')` take none).
        {
          selector: "CallExpression[callee.property.name='execute'][arguments.0.type='TemplateLiteral']",
          message: RAW_SQL,
        },
        {
          selector:
            "CallExpression[callee.property.name='execute'][arguments.0.type='Literal'][arguments.0.value=/\\s/]",
          message: RAW_SQL,
        },
        // em.execute(text, params) with the text in a variable.
        {
          selector:
            "CallExpression[callee.property.name='execute'][callee.object.name=/^(em|tx|trx|fork|orm|connection)$/][arguments.length>0]",
          message: RAW_SQL,
        },
        // The ways to a raw connection or query builder: getKysely(), getKnex(), getConnection(),
        // executeQuery(), and sql`...` / raw`...` templates.
        {
          selector: 'CallExpression[callee.property.name=/^(getKysely|getKnex|getConnection|executeQuery)$/]',
          message: RAW_SQL,
        },
        { selector: 'TaggedTemplateExpression[tag.name=/^(sql|raw)$/]', message: RAW_SQL },
      ],
    },
  },
);
