import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ApiError, CliError, DEFAULT_HUB_URL, EXIT, HubClient, hubUrl } from './client';
import { loginConfigPath, removeStoredLogin, writeStoredLogin } from './login-store';
import { processOutput, reportError } from './output';

/** `hookhub login` and `hookhub logout`: the hub and key other commands use when no flag or variable names them. */
export function loginCommands(program: Command): void {
  program
    .command('login')
    .description(`check a hub address and API key against the hub and store them (${loginConfigPath()}, readable by you only)`)
    .option('--url <url>', `the hub's address (asked for when missing; default ${DEFAULT_HUB_URL})`)
    .option('--api-key <key>', 'an API key of your tenant (asked for when missing)')
    .option('--json', 'print JSON instead of text')
    .action(async (options: { url?: string; apiKey?: string; json?: boolean }) => {
      const out = processOutput(options.json === true);
      try {
        const url = hubUrl(options.url ?? (await ask(`Hub URL [${DEFAULT_HUB_URL}]: `)) ?? DEFAULT_HUB_URL);
        const apiKey = options.apiKey ?? (await ask('API key: '));
        if (apiKey === undefined) throw new CliError('no API key.', EXIT.usage, 'Pass --api-key <key>, or run `hookhub login` in a terminal to be asked for it.');
        const access = await checkKey(new HubClient({ url, urlFrom: 'flag', apiKey, apiKeyFrom: 'flag' }));
        const file = writeStoredLogin({ url: url.href, apiKey });
        if (out.json) out.data({ url: url.href, config: file, access });
        else {
          out.line(`${out.paint.green('Logged in')} to ${url.href}; stored in ${file} (mode 0600).`);
          if (access === 'limited') out.line('The key is valid but cannot read subscriptions: commands needing other scopes will say so.');
        }
        process.exitCode = EXIT.ok;
      } catch (err) {
        process.exitCode = reportError(err, out.json);
      }
    });

  program
    .command('logout')
    .description('forget the stored hub address and API key')
    .option('--json', 'print JSON instead of text')
    .action((options: { json?: boolean }) => {
      const out = processOutput(options.json === true);
      const removed = removeStoredLogin();
      if (out.json) out.data({ loggedOut: removed, config: loginConfigPath() });
      else out.line(removed ? `Logged out: removed ${loginConfigPath()}.` : 'Not logged in: nothing stored.');
    });
}

/**
 * Proves the key against the hub: a 401 refuses it; a 403 means the hub knows the key but it may not
 * list subscriptions (a publish-only key), which is still a valid login.
 */
async function checkKey(client: HubClient): Promise<'full' | 'limited'> {
  try {
    await client.get('/v1/subscriptions', { query: { limit: 1 } });
    return 'full';
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return 'limited';
    if (err instanceof ApiError && err.status === 401) throw new ApiError(err.status, err.code, err.message, err.details, 'Nothing was stored. Check the key (made with `hookhub keys create`) and the URL.');
    throw err;
  }
}

/** Asks on a terminal; undefined when stdin is not one (scripts pass flags) or the answer is empty. */
async function ask(question: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(question)).trim();
    return answer === '' ? undefined : answer;
  } finally {
    rl.close();
  }
}
