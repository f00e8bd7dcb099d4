import { Writable } from 'node:stream';
import { createLogger } from '../../src/core/logger';

it('redacts secrets, sealed secrets and authorization headers from log lines', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: 'info' }, sink);
  logger.info(
    {
      secret: 'whsec_topsecret',
      subscription: { secret: 'whsec_nested', secretSealed: 'v1:k1:sealed' },
      req: { headers: { authorization: 'Bearer hh_key_value' } },
      headers: { 'webhook-signature': 'v1,sig' },
    },
    'something happened',
  );
  const output = lines.join('');
  expect(output).toContain('something happened');
  for (const leaked of ['whsec_topsecret', 'whsec_nested', 'v1:k1:sealed', 'hh_key_value', 'v1,sig']) expect(output).not.toContain(leaked);
  expect(output).toContain('[redacted]');
});
