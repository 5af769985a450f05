// ESLint flat config: typescript-eslint's recommended rules without type information (fast;
// `npm run typecheck` is the type check).
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
