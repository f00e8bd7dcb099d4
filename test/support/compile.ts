import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './entry';

/**
 * Compiles src/ into `dir` (transpiled only: the lint type-checks) unless the last build there is newer
 * than every source file and tsconfig.json. Returns whether it compiled. The processes the tests and the
 * bench start then run from JavaScript, as in production, rather than compiling TypeScript at each start.
 */
export function compileIfStale(dir: string): boolean {
  const stamp = path.join(dir, '.built');
  const built = mtimeOf(stamp);
  if (built !== null && newestSource(path.join(ROOT, 'src')) < built && (mtimeOf(path.join(ROOT, 'tsconfig.json')) ?? 0) < built) return false;
  rmSync(dir, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', dir, '--noCheck', '--sourceMap', 'false'], { cwd: ROOT, stdio: 'inherit' });
  writeFileSync(stamp, new Date().toISOString());
  return true;
}

function mtimeOf(file: string): number | null {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    // A directory's own time changes when a file in it is removed or renamed.
    newest = Math.max(newest, mtimeOf(full) ?? 0, entry.isDirectory() ? newestSource(full) : 0);
  }
  return newest;
}
