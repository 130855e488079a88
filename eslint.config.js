// ESLint (flat config) for every TypeScript and JavaScript file of the project: typescript-eslint's recommended
// rules (syntax-level, no type information, so it runs in seconds), React hooks' rules for app/, and Node globals
// for the scripts, the CLI, the bench and the tests. Formatting is Prettier's job (.prettierrc), layering is
// dependency-cruiser's (.dependency-cruiser.cjs). Run by `npm test` (the lint suite) and `npm run lint`.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'public/', 'test-results/', 'bench/out/', '.e2e-tmp/', '.bench-tmp/', 'models/', 'docs/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      eqeqeq: ['error', 'smart'],
      // Prettier wraps code at 140; what it cannot wrap (comments, long words) is held here. Long strings, templates
      // and regular expressions stay whole: a message is easier to grep for than to reassemble.
      'max-len': ['error', { code: 140, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
      'no-console': 'off',
    },
  },
  {
    files: ['app/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
);
