import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import reactHooks from 'eslint-plugin-react-hooks'
import i18next from 'eslint-plugin-i18next'

const readAttrs = 'aria-label|aria-description|title|placeholder|alt|label|heading|description|confirmLabel|hint'
// A "word" is a run of letters that is not a URL or a command line example.
const word = '/^(?!https?:)(?!keygate )[^]*\\p{L}{2}/u'

// The i18next rule is the check that no user-visible string bypasses t(): literal JSX text and
// literal values of the attributes people read (labels, titles, placeholders) fail the lint.
export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'src/docs', 'test-results', 'wailsjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks, i18next },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      // Literal text between JSX tags.
      'i18next/no-literal-string': ['error', { mode: 'jsx-text-only' }],
      // Literal words in the attributes people read, and literal strings rendered as children.
      'no-restricted-syntax': ['error',
        {
          selector: `JSXAttribute[name.name=/^(${readAttrs})$/] > Literal[value=${word}]`,
          message: 'User-visible attribute text must go through t().',
        },
        {
          selector: `JSXAttribute[name.name=/^(${readAttrs})$/] > JSXExpressionContainer > Literal[value=${word}]`,
          message: 'User-visible attribute text must go through t().',
        },
        {
          // eslint-plugin-i18next skips some component shapes (export const X = () => <p>…</p>).
          selector: `JSXText[value=${word}]`,
          message: 'User-visible text must go through t().',
        },
        {
          selector: `JSXElement > JSXExpressionContainer > Literal[value=${word}]`,
          message: 'User-visible text must go through t().',
        },
        {
          selector: `JSXElement > JSXExpressionContainer > TemplateLiteral > TemplateElement[value.raw=${word}]`,
          message: 'User-visible text must go through t().',
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.test.{ts,tsx}', 'src/test/**', 'src/api/mock.ts'],
    rules: { 'i18next/no-literal-string': 'off' },
  },
  {
    files: ['e2e/**/*.mjs', 'scripts/**/*.mjs'],
    // Node globals, plus browser globals used inside page.evaluate() callbacks.
    languageOptions: {
      globals: Object.fromEntries(['process', 'console', 'setTimeout', 'clearTimeout', 'URL', 'fetch', 'AbortSignal', 'Buffer',
        'document', 'window', 'navigator', 'NodeFilter', 'localStorage', 'sessionStorage'].map((g) => [g, 'readonly'])),
    },
  },
)
