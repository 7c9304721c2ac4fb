// @ts-check
// Type-aware lint (typescript-eslint's recommendedTypeChecked), set to what the code already does:
// see the comments beside each rule that is changed. `npm run lint` runs it; `npm test` runs that first.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const nodeGlobals = { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' };

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'data/', 'scratch/', '.bench-out/', '.build-check-*/', 'examples/', 'src/console/public/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Ports are async by contract; their in-process implementations (memory hot state, memory
      // sessions) and fastify hooks answer at once, and say so by being async without awaiting.
      '@typescript-eslint/require-await': 'off',
      // `_name` marks a parameter a signature needs but the body does not; `{ dropped, ...rest }`
      // drops a field on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // node:test's test()/describe() report through the runner, which awaits them itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
    },
  },
  {
    // Tests and benchmarks read JSON answers (typed `any`) and poke at them on purpose; the
    // assertions are the type check there.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // typebox's TSchema has only optional members, so the rule takes the assertions that widen it
    // to a schema shape for no-ops, and its fix breaks the build (tsc: no 'properties' on TSchema).
    files: ['src/cli/config-file.ts'],
    rules: { '@typescript-eslint/no-unnecessary-type-assertion': 'off' },
  },
  { files: ['**/*.mjs', '**/*.cjs'], extends: [tseslint.configs.disableTypeChecked], languageOptions: { globals: nodeGlobals } },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, module: 'writable', require: 'readonly' } } },
);
