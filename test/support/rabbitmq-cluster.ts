import { execFile, spawn } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A RabbitMQ cluster of extra nodes on this machine, next to the shared broker
 * (rabbit@localhost, which it never touches): each node has its own name, ports,
 * data and log directories in a temporary directory, no plugins, and the shared
 * Erlang cookie of the rabbitmq user (nodes run as that user, as rabbitmq-server
 * does when started by root).
 */
export interface ClusterNode {
  name: string;
  port: number;
  url: string;
}

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const CTL = 'rabbitmqctl';

export class RabbitCluster {
  readonly nodes: ClusterNode[];
  private readonly dir: string;
  private readonly user: { uid: number; gid: number } | null;

  constructor(names: readonly string[], firstPort: number) {
    this.nodes = names.map((name, i) => ({
      name: `${name}@localhost`,
      port: firstPort + i,
      url: `amqp://guest:guest@127.0.0.1:${firstPort + i}`,
    }));
    if (!existsSync(SERVER)) throw new Error(`RabbitMQ is not installed here (${SERVER} is missing): the cluster test needs the rabbitmq-server package`);
    const uid = process.getuid?.() ?? -1;
    const rabbit = rabbitmqUser();
    if (uid !== 0 && uid !== rabbit.uid) throw new Error('the cluster test runs RabbitMQ nodes as the rabbitmq user: run it as root or as rabbitmq');
    this.user = uid === 0 ? rabbit : null;
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'hookhub-rabbit-cluster-'));
    this.own(this.dir);
  }

  /** Starts every node, then joins the others to the first. */
  async start(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.startNode(node)));
    const [first, ...rest] = this.nodes as [ClusterNode, ...ClusterNode[]];
    for (const node of rest) {
      await ctl(node.name, 'stop_app');
      await ctl(node.name, 'join_cluster', first.name);
      await ctl(node.name, 'start_app');
      await ctl(node.name, 'await_startup');
    }
  }

  /** Starts one node (again, after a crash: its data directory is kept) and waits until it runs. */
  async startNode(node: ClusterNode): Promise<void> {
    const base = path.join(this.dir, node.name.split('@')[0] as string);
    if (!existsSync(base)) {
      for (const sub of ['', 'mnesia', 'log']) this.own(path.join(base, sub));
      writeFileSync(path.join(base, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${node.port}\nloopback_users = none\n`);
      // No plugins: the management plugin would want port 15672, which the shared broker has.
      writeFileSync(path.join(base, 'enabled_plugins'), '[].\n');
      writeFileSync(path.join(base, 'rabbitmq-env.conf'), '');
      for (const file of ['rabbitmq.conf', 'enabled_plugins', 'rabbitmq-env.conf']) this.own(path.join(base, file));
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RABBITMQ_NODENAME: node.name,
      RABBITMQ_NODE_PORT: String(node.port),
      RABBITMQ_DIST_PORT: String(node.port + 20_000),
      RABBITMQ_MNESIA_BASE: path.join(base, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(base, 'log'),
      RABBITMQ_CONFIG_FILE: path.join(base, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(base, 'enabled_plugins'),
      // Not the shared broker's env file, which names rabbit@localhost.
      RABBITMQ_CONF_ENV_FILE: path.join(base, 'rabbitmq-env.conf'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
    };
    const out = openSync(path.join(base, 'console.log'), 'a');
    // `su` (no login shell) keeps the environment and sets HOME to the rabbitmq user's, where the cookie is;
    // it also applies that user's open-files limit from limits.d.
    const child = this.user
      ? spawn('su', ['rabbitmq', '-s', '/bin/sh', '-c', `cd /var/lib/rabbitmq && exec ${SERVER}`], { env, detached: true, stdio: ['ignore', out, out] })
      : spawn(SERVER, [], { env, detached: true, stdio: ['ignore', out, out] });
    child.unref();
    closeSync(out);
    const deadline = Date.now() + 90_000;
    for (;;) {
      try {
        await ctl(node.name, 'await_startup', '--timeout', '60');
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`RabbitMQ node ${node.name} did not start: ${(err as Error).message}\nsee ${base}/console.log and ${base}/log`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** The node's Erlang VM, killed outright as in a crash. */
  async crash(node: ClusterNode): Promise<void> {
    const pid = await osPid(node.name);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(pid); i += 1) await new Promise((r) => setTimeout(r, 100));
  }

  /** Which node leads each of the given queues, as the cluster reports it. */
  async leaders(queues: readonly string[], via: ClusterNode): Promise<Map<string, string>> {
    const { stdout } = await ctl(via.name, 'list_queues', '-q', '--formatter', 'json', 'name', 'leader', 'members');
    const rows = JSON.parse(stdout) as Array<{ name: string; leader: string; members: string[] }>;
    return new Map(rows.filter((r) => queues.includes(r.name)).map((r) => [r.name, r.leader]));
  }

  async members(queue: string, via: ClusterNode): Promise<string[]> {
    const { stdout } = await ctl(via.name, 'list_queues', '-q', '--formatter', 'json', 'name', 'members');
    const rows = JSON.parse(stdout) as Array<{ name: string; members: string[] }>;
    return rows.find((r) => r.name === queue)?.members ?? [];
  }

  /** The broker port of each client connection of the cluster (which node it is on). */
  async connectionPorts(via: ClusterNode): Promise<number[]> {
    const { stdout } = await ctl(via.name, 'list_connections', '-q', '--formatter', 'json', 'port');
    return (JSON.parse(stdout) as Array<{ port: number }>).map((r) => r.port);
  }

  /** Stops every node (killing what does not stop) and removes their data. */
  async destroy(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        const pid = await osPid(node.name).catch(() => null);
        await ctl(node.name, 'stop', '--timeout', '30').catch(() => undefined);
        if (pid !== null && alive(pid)) process.kill(pid, 'SIGKILL');
      }),
    );
    // A node whose control channel never answered: find its VM by its node name.
    for (const node of this.nodes) for (const pid of beamPidsOf(node.name)) process.kill(pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private own(target: string): void {
    // Directories are made here; files are written before they are handed over.
    if (!existsSync(target)) mkdirSync(target, { recursive: true });
    if (this.user) chownSync(target, this.user.uid, this.user.gid);
  }
}

function ctl(node: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(CTL, ['-n', node, ...args], { timeout: 90_000 });
}

async function osPid(node: string): Promise<number> {
  const { stdout } = await ctl(node, 'eval', 'list_to_integer(os:getpid()).');
  return Number(stdout.trim());
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Erlang VMs started for this node: they carry its name in their environment. */
function beamPidsOf(node: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').startsWith('/usr/lib/erlang/')) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.includes(`RABBITMQ_NODENAME=${node}`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

function rabbitmqUser(): { uid: number; gid: number } {
  const home = statSync('/var/lib/rabbitmq');
  return { uid: home.uid, gid: home.gid };
}
