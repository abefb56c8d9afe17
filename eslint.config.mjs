import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const APPS = ['gateway', 'scheduler', 'nats-worker'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.cache/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      curly: ['error', 'multi-line'],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  // Import boundaries: an app never imports another app, a library never imports an app, and inside an app a feature
  // folder reaches another one through the app's alias (`@gateway/http/uuid.pipe`), never by a relative path: the
  // coupling stays visible and a folder can move. ESLint keeps one options object per rule and file, so each block
  // repeats the app pattern.
  ...APPS.flatMap((app) => {
    const others = APPS.filter((other) => other !== app).join('|');
    const otherApps = {
      regex: `(^|/)(apps/)?(${others})/src/|^@(${others})/`,
      message: 'Apps never import each other: share code through libs/.',
    };
    const acrossFeatures = (up) => ({
      regex: `^${up}`,
      message: `No relative import across feature folders: import another folder of ${app} through @${app}/<folder>/...`,
    });
    return [
      { files: [`apps/${app}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns: [otherApps] }] } },
      {
        files: [`apps/${app}/src/*/*.ts`],
        rules: { 'no-restricted-imports': ['error', { patterns: [otherApps, acrossFeatures('\\.\\./')] }] },
      },
      {
        files: [`apps/${app}/src/*/*/*.ts`],
        rules: { 'no-restricted-imports': ['error', { patterns: [otherApps, acrossFeatures('\\.\\./\\.\\./')] }] },
      },
    ];
  }),
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '(^|/)apps/', message: 'Libraries never import an app.' }] },
      ],
    },
  },
  // The domain owns its vocabulary and depends on nothing but contracts and npm libraries, so that persistence,
  // messaging and orchestration can build on it. A later block replaces the rule's options, so the app pattern is
  // repeated here.
  {
    files: ['libs/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)apps/', message: 'Libraries never import an app.' },
            {
              regex: '^@app/(?!contracts$)',
              message: 'The domain imports only @app/contracts and npm libraries: define the type in libs/domain.',
            },
            {
              regex: '(^|/)(config|messaging|orchestration|persistence)/src(/|$)',
              message: 'The domain imports only @app/contracts and npm libraries: define the type in libs/domain.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', '**/*.spec.ts', '**/*.spec-support.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
