// ESLint uses the nearest config to each file: this package holds no source of its own
// (it is built from src/verify, which the root config lints), only build output to skip.
export default [{ ignores: ['dist/**'] }];
