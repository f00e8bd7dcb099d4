import type { Command } from 'commander';
import { loadConfig } from '../config/config';
import { SecretBox } from '../core/secret-box';
import { loadKeyRing, loadMongoStore } from './lazy';

/** `hookhub secrets reencrypt`: moves every stored secret to the newest key of HOOKHUB_ENCRYPTION_KEYS. */
export function secretCommands(program: Command, fail: (message: string) => never): void {
  const secrets = program.command('secrets').description('secrets stored encrypted (signing secrets, credentials, tokens)');
  secrets
    .command('reencrypt')
    .description('re-encrypt every stored secret with the newest key of HOOKHUB_ENCRYPTION_KEYS, so older keys can be retired')
    .action(async () => {
      const config = loadConfig();
      if (!config.mongodbUrl) fail('Set MONGODB_URL (and AMQP_URL): in embedded mode nothing is stored.');
      const box = new SecretBox(config.encryptionKeys);
      const { createMongoStore } = loadMongoStore();
      const { reencryptAll } = loadKeyRing();
      const store = createMongoStore({ url: config.mongodbUrl });
      await store.connect();
      try {
        const report = await reencryptAll(store, box);
        process.stdout.write(`${JSON.stringify({ newestKey: box.newestKeyId, ...report })}\n`);
        process.stderr.write(
          `${report.reencrypted} of ${report.scanned} stored secrets re-encrypted with key "${box.newestKeyId}"` +
            `${report.skipped ? `; ${report.skipped} changed meanwhile and are already current` : ''}. Older keys can now be removed from HOOKHUB_ENCRYPTION_KEYS.\n`,
        );
      } finally {
        await store.close();
      }
    });
}
