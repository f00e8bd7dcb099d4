import path from 'node:path';
import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';
import type { Logger } from '../core/logger';
import { findManifests, formatProblem, loadManifest } from './loader';
import type { LoadedConnector, ManifestProblem } from './loader';

export interface ConnectorRegistryOptions {
  dir: string;
  logger: Logger;
}

/**
 * The installed connectors, by name and major version. A link pins a major
 * version; minor and patch releases of that major apply to it at once.
 */
export class ConnectorRegistry {
  private readonly byName = new Map<string, Map<number, LoadedConnector>>();
  private currentProblems: ManifestProblem[] = [];
  private watcher: FSWatcher | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly options: ConnectorRegistryOptions) {}

  get dir(): string {
    return this.options.dir;
  }

  /** Problems of the last load; the connectors they belong to are not installed (or kept at their previous version). */
  get problems(): readonly ManifestProblem[] {
    return this.currentProblems;
  }

  /** Loads every manifest. On a reload, a manifest that no longer loads keeps its previous version. */
  load(): void {
    const next = new Map<string, Map<number, LoadedConnector>>();
    const problems: ManifestProblem[] = [];
    const failedFiles = new Set<string>();
    for (const file of findManifests(this.options.dir)) {
      const result = loadManifest(file, this.options.dir);
      if (!result.ok) {
        problems.push(...result.problems);
        failedFiles.add(file);
        continue;
      }
      const { connector } = result;
      const versions = next.get(connector.manifest.name) ?? new Map<number, LoadedConnector>();
      const clash = versions.get(connector.major);
      if (clash) {
        problems.push({ file, line: null, column: null, path: '/version', message: `${connector.manifest.name} major version ${connector.major} is also declared in ${clash.file}; keep one manifest per major version` });
        continue;
      }
      versions.set(connector.major, connector);
      next.set(connector.manifest.name, versions);
    }
    for (const versions of this.byName.values()) {
      for (const previous of versions.values()) {
        if (!failedFiles.has(previous.file)) continue;
        const kept = next.get(previous.manifest.name) ?? new Map<number, LoadedConnector>();
        if (!kept.has(previous.major)) kept.set(previous.major, previous);
        next.set(previous.manifest.name, kept);
      }
    }
    this.byName.clear();
    for (const [name, versions] of next) this.byName.set(name, versions);
    this.currentProblems = problems;
    for (const problem of problems) {
      this.options.logger.error({ file: problem.file, line: problem.line, path: problem.path }, `connector manifest invalid: ${formatProblem(problem)}`);
    }
    for (const listener of this.listeners) listener();
  }

  /** Watches the connectors directory and reloads shortly after a change (embedded mode); resolves once watching. */
  async watch(): Promise<void> {
    if (this.watcher) return;
    const watcher = watch(this.options.dir, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 25 } });
    this.watcher = watcher;
    watcher.on('all', (_event, file) => {
      if (this.reloadTimer) clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => {
        this.reloadTimer = null;
        this.reload(path.relative(this.options.dir, file));
      }, 150);
    });
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  /** Loads again after a change, and says what is served now: a refused manifest is not "reloaded", its previous version stays. */
  reload(changed: string): void {
    this.load();
    const serving = this.list().map((c) => `${c.manifest.name}@${c.manifest.version}`).join(', ') || 'none';
    const refused = [...new Set(this.currentProblems.map((p) => path.relative(this.options.dir, p.file).split(path.sep)[0] ?? p.file))];
    if (refused.length === 0) {
      this.options.logger.info({ changed }, `connectors reloaded: ${serving}`);
      return;
    }
    this.options.logger.warn(
      { changed, refused },
      `connectors not reloaded: ${refused.join(', ')} refused (invalid manifest, problems above; the previous version of each is kept, if there was one); serving ${serving}`,
    );
  }

  onReload(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    await this.watcher?.close();
    this.watcher = null;
  }

  /** The newest major of each connector. */
  list(): LoadedConnector[] {
    return [...this.byName.keys()].sort().map((name) => this.latest(name) as LoadedConnector);
  }

  latest(name: string): LoadedConnector | null {
    const versions = this.byName.get(name);
    if (!versions) return null;
    return versions.get(Math.max(...versions.keys())) ?? null;
  }

  /** The connector a link pinned to `major`; null when that major is not installed. */
  resolve(name: string, major: number): LoadedConnector | null {
    return this.byName.get(name)?.get(major) ?? null;
  }

  majors(name: string): number[] {
    return [...(this.byName.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }
}
