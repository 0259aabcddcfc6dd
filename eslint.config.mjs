// Lint: typescript-eslint's recommended rules plus the import boundaries that keep dependencies
// pointing one way (infra ← modules ← app; routers never reach SQL). See docs/CONVENTIONS.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const boundary = (regex, message) => ({ regex, message });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.pawmate/**', 'public/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // Refusing control characters in user text is deliberate (see src/http/schemas.ts).
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests, benchmarks and load generators read untyped JSON answers and IPC messages (supertest's
    // body is any); typing every one adds noise, not safety.
    files: ['**/*.test.ts', 'test/**/*.ts', 'scripts/bench/**/*.ts', 'scripts/load/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/infra/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            boundary(
              '(^|/)(http|modules)/',
              'src/infra must not depend on src/http or src/modules: infrastructure knows nothing of HTTP or features.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['src/modules/**/*.ts'],
    ignores: ['src/modules/**/*.router.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            boundary(
              '^\\.\\./.*\\.repository$',
              "A module reaches another module's data through that module's service, never its repository.",
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['src/**/*.router.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [boundary('\\.repository$', 'Routers call services; only services use repositories.')],
        },
      ],
    },
  },
);
