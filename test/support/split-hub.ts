import { startChildHub } from './child-hub';
import type { ChildHub } from './child-hub';
import { deleteTopology, dropDatabase } from './services';
import { apiClient, testHubSettings } from './test-hub';
import type { TestHub, TestHubSettings } from './test-hub';

/** One hub split by role over processes of its own, as an operator scales it: one queue prefix, one database. */
export interface SplitHub extends TestHubSettings {
  /** The processes, in the order of their roles. */
  processes: ChildHub[];
  /** The API of the first process with the api role. */
  api: TestHub['api'];
  /** SIGTERM to every process; resolves with their exit codes, in the order of the processes. */
  stop(): Promise<Array<number | null>>;
  /** Kills what still runs, then removes the queues and the database. */
  destroy(): Promise<void>;
}

/**
 * Starts a process (`node main.js`, see child-hub.ts) per entry of `roles`, each entry its HOOKHUB_ROLES
 * (e.g. `['api,jobs', 'router', 'worker', 'worker']`). The first starts alone (it declares the queues
 * and the database's indexes), the others together after it.
 */
export async function startSplitHub(roles: readonly string[], options: { env?: Record<string, string> } = {}): Promise<SplitHub> {
  const settings = testHubSettings({ env: { LOG_LEVEL: 'info', ...options.env } });
  const started: ChildHub[] = [];
  const start = async (role: string): Promise<ChildHub> => {
    const child = await startChildHub({ ...settings.env, HOOKHUB_ROLES: role }, 60_000);
    started.push(child);
    return child;
  };
  const killAll = async (): Promise<void> => {
    for (const child of started) if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
    await Promise.all(started.map((c) => c.exited));
  };
  const removeAll = async (): Promise<void> => {
    await killAll();
    await deleteTopology(settings.prefix);
    await dropDatabase(settings.database);
  };
  let processes: ChildHub[];
  try {
    const [first, ...rest] = roles;
    if (first === undefined) throw new Error('startSplitHub: no roles');
    const head = await start(first);
    // allSettled: a process that fails to start must not leave the others running unseen.
    const others = await Promise.allSettled(rest.map(start));
    const failed = others.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    processes = [head, ...others.map((o) => (o as PromiseFulfilledResult<ChildHub>).value)];
  } catch (err) {
    await removeAll().catch(() => undefined);
    throw err;
  }
  const apiProcess = processes.find((_, i) => roles[i]?.split(',').includes('api'));
  return {
    ...settings,
    processes,
    api: apiClient(() => {
      if (!apiProcess) throw new Error('startSplitHub: no process has the api role');
      return `http://127.0.0.1:${apiProcess.port()}`;
    }, settings.apiKey),
    async stop() {
      for (const child of processes) child.kill('SIGTERM');
      return Promise.all(processes.map((c) => c.exited));
    },
    destroy: removeAll,
  };
}
