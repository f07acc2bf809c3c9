// Prettier for the TypeScript and JavaScript sources (what it skips: .prettierignore).
// Chosen to match the code as it was written, so formatting changed as few lines as it could:
// single quotes, semicolons, trailing commas wherever TypeScript allows them, parentheses around
// every arrow parameter. 140 columns: long enough for a kernel call or a shape check on one line,
// short enough that the 300-column lines get wrapped (120 would have rewrapped half again as many
// lines of code that was already wrapped by hand).
/** @type {import('prettier').Config} */
export default {
  printWidth: 140,
  singleQuote: true,
  semi: true,
  trailingComma: 'all',
  arrowParens: 'always',
  // Leave the text of template strings alone, whatever tag or comment precedes them.
  embeddedLanguageFormatting: 'off',
};
