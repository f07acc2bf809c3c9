// ESLint for the TypeScript and JavaScript sources: a short list of rules that catch mistakes,
// and the layer order of src/ (docs/architecture.md), so an import that runs up the order fails
// here as well as in test/layers.test.ts. No rule needs type information, so it stays fast.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * Which folders of src/ each folder may import besides itself: the table of docs/architecture.md,
 * the same as test/layers.test.ts's MAY_IMPORT (change all three together).
 */
const MAY_IMPORT = {
  volume: [],
  gpu: [],
  io: ['volume'],
  nn: ['gpu', 'io', 'volume'],
  analysis: ['io', 'volume'],
  synth: ['gpu', 'io', 'volume'],
  pipeline: ['gpu', 'io', 'volume', 'nn', 'analysis', 'synth'],
  cli: ['gpu', 'io', 'volume', 'synth', 'pipeline'],
};

/**
 * One config per folder of src/: a relative import whose path passes through a folder named after
 * a layer it may not import is an error. (No folder inside src/ is named after a layer, so a path
 * segment `io/` can only be src/io.) Static imports and re-exports go through
 * no-restricted-imports; `import('…')` and `typeof import('…')` through no-restricted-syntax.
 */
function layerOrder() {
  const layers = Object.keys(MAY_IMPORT);
  return Object.entries(MAY_IMPORT)
    .map(([from, allowed]) => {
      const banned = layers.filter((l) => l !== from && !allowed.includes(l));
      if (banned.length === 0) return null;
      const source = `^\\.{1,2}/(.*/)?(${banned.join('|')})(/|$)`;
      const message =
        `layer order (docs/architecture.md): src/${from} may import only ` +
        `${allowed.length ? allowed.map((l) => `src/${l}`).join(', ') : 'itself'}, not src/${banned.join(', src/')}.`;
      return {
        name: `rhizoct/layers/${from}`,
        files: [`src/${from}/**/*.ts`],
        rules: {
          'no-restricted-imports': ['error', { patterns: [{ regex: source, message }] }],
          'no-restricted-syntax': [
            'error',
            { selector: `ImportExpression[source.value=/${source.replaceAll('/', '\\/')}/]`, message },
            { selector: `TSImportType[argument.literal.value=/${source.replaceAll('/', '\\/')}/]`, message },
          ],
        },
      };
    })
    .filter((c) => c !== null);
}

export default defineConfig(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'models/',
      'volumes/',
      'docs/',
      'shaders/',
      'bench/out/',
      'bench/reference/',
      'bench/independent/',
      'bench/real-references/',
      'bench/figures/',
      'test-artifacts/',
      'sample-output/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    name: 'rhizoct/all',
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      eqeqeq: ['error', 'always'],
      'no-var': 'error',
      'prefer-const': ['error', { destructuring: 'all' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    name: 'rhizoct/viewer',
    files: ['viewer/src/**/*.ts', 'viewer/shims/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  ...layerOrder(),
);
