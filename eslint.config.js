// Only the promise rules: with the store's seam asynchronous, a call whose promise nobody awaits
// would turn a refused write into an unhandled rejection, and an async callback where a plain one
// is expected (a filter, an if) would always be true. Formatting is prettier's.
import tseslint from 'typescript-eslint';

export default tseslint.config({
  files: ['src/**/*.ts', 'src/**/*.tsx', 'test/**/*.ts', 'bench/**/*.ts'],
  languageOptions: { parser: tseslint.parser, parserOptions: { project: './tsconfig.test.json' } },
  plugins: { '@typescript-eslint': tseslint.plugin },
  rules: {
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
    '@typescript-eslint/await-thenable': 'error',
  },
});
