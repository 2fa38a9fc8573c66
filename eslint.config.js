// Lint: typescript-eslint strict (type-checked), no `any`, exhaustive switches, no `.only`,
// import boundaries between the service folders (a service imports lib/, never another service),
// and no import cycles (scripts/check-import-cycles.ts, run by `npm run lint`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const services = ['webhook', 'pilot', 'mixer', 'ca', 'agent', 'vm', 'ops'];

const boundaries = services.map((svc) => ({
  files: [`${svc}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: `^(\\.\\./)+(${services.filter((s) => s !== svc).join('|')}|cli|e2e|bench)/`,
            message: `${svc}/ may import lib/ only, never another service's internals or cli/.`,
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.cache/', '.local/', 'charts/', 'testdata/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // client-node's models are data-only classes; object literals are its documented usage.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      'no-restricted-properties': [
        'error',
        { object: 'describe', property: 'only', message: 'No .only in tests.' },
        { object: 'it', property: 'only', message: 'No .only in tests.' },
        { object: 'context', property: 'only', message: 'No .only in tests.' },
      ],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${services.join('|')}|cli|e2e|bench)/`,
              message: 'lib/ is shared code: it imports nothing from services, cli, e2e or bench.',
            },
          ],
        },
      ],
    },
  },
  ...boundaries,
  {
    files: ['**/*.test.ts', 'e2e/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  { files: ['eslint.config.js', 'bin/*.js'], ...tseslint.configs.disableTypeChecked },
  // The dashboard's page script runs in the browser, as a plain script.
  { files: ['ops/dashboard/static/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['ops/dashboard/static/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { document: 'readonly', fetch: 'readonly', setTimeout: 'readonly' },
    },
  },
);
