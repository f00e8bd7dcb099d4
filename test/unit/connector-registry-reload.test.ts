import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/core/logger';
import { ConnectorRegistry } from '../../src/connectors/registry';
import { waitUntil } from '../support/receiver';

const SHIPPED = path.resolve(__dirname, '../../connectors');

let dir: string;
let registry: ConnectorRegistry;
let lines: Array<{ level: number; msg: string }>;

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hh-registry-'));
  cpSync(path.join(SHIPPED, 'slack'), path.join(dir, 'slack'), { recursive: true });
  lines = [];
  const logger = createLogger({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  registry = new ConnectorRegistry({ dir, logger });
  registry.load();
  await registry.watch();
});

afterEach(async () => {
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

const manifest = (): string => path.join(dir, 'slack', 'connector.yaml');
const edit = (change: (text: string) => string): void => writeFileSync(manifest(), change(readFileSync(manifest(), 'utf8')));

describe('hot reload of connector manifests', () => {
  it('logs a good change as reloaded, with the version now served', async () => {
    edit((t) => t.replace('version: 1.0.0', 'version: 1.0.1'));
    await waitUntil(() => lines.some((l) => l.msg.startsWith('connectors reloaded')));
    expect(lines.find((l) => l.msg.startsWith('connectors reloaded'))?.msg).toBe('connectors reloaded: slack@1.0.1');
  });

  it('does not log a refused change as reloaded: it names the refused connector and the version still served', async () => {
    edit((t) => t.replace('version: 1.0.0', 'version: 1.0.1').replace('{{ $credentials.webhook_url }}', '{{ $credential.webhook_url }}'));
    await waitUntil(() => lines.some((l) => l.msg.startsWith('connectors not reloaded')));
    expect(lines.some((l) => l.msg.startsWith('connectors reloaded'))).toBe(false);
    expect(lines.find((l) => l.msg.includes('connector manifest invalid'))?.msg).toContain('did you mean $credentials?');
    const summary = lines.find((l) => l.msg.startsWith('connectors not reloaded'));
    expect(summary?.msg).toContain('slack refused');
    expect(summary?.msg).toContain('serving slack@1.0.0');
    expect(summary?.level).toBe(40);
    expect(registry.latest('slack')?.manifest.version).toBe('1.0.0');
  });
});
