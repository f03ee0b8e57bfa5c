// ESLint for the whole repo: habits that hold by themselves (see docs/CONVENTIONS.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const clockRule = {
  'no-restricted-properties': [
    'error',
    {
      object: 'Date',
      property: 'now',
      message: "Read time from the injected Clock (clock.now()) so it is testable; see @ops/core's Clock.",
    },
  ],
  'no-restricted-globals': [
    'error',
    { name: 'setTimeout', message: 'Use the injected Clock (clock.setTimeout / clock.sleep) or createPeriodicTask.' },
    {
      name: 'setInterval',
      message: 'Use createPeriodicTask from @ops/core (never overlaps, stops cleanly, testable).',
    },
  ],
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '.tmp/**', 'bench/results/**'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.base],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.ts', 'scripts/*.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // TypeScript checks these better than the JavaScript rules.
      'no-undef': 'off',
      'no-unused-vars': 'off',
      'no-redeclare': 'off',
      'no-dupe-class-members': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
      'no-control-regex': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ExportAllDeclaration',
          message: 'Export by name (no `export *`): the index is the public API, read at a glance.',
        },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      // `import('pkg').Type` stays allowed: optional peers are typed without being imported.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-import-type-side-effects': 'error',
    },
  },
  {
    // Library and service code reads time from the Clock; tests, the test kit and benchmarks may use real timers.
    files: ['packages/*/src/**/*.ts', 'examples/*/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/*.int.test.ts', 'packages/testkit/**', 'packages/core/src/time/clock.ts'],
    rules: clockRule,
  },
);
