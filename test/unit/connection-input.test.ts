import { ValidationError } from '../../src/core/errors';
import { authorizeInput, connectionCreateInput, connectionUpdateInput } from '../../src/integrations/connection-input';

/** The 400 a call throws: its message and the problems it names. */
function refusal(call: () => unknown): { message: string; details: unknown } {
  try {
    call();
  } catch (err) {
    if (err instanceof ValidationError) return { message: err.message, details: err.details };
    throw err;
  }
  throw new Error('not refused');
}

describe('connection request bodies', () => {
  it('hands a valid body on as it came, typed', () => {
    const body = { connector: 'slack', config: { channel: '#x' }, credentials: { webhook_url: 'https://hooks.slack.com/x' }, description: null };
    expect(connectionCreateInput(body)).toBe(body);
    expect(connectionUpdateInput({ upgrade: true })).toEqual({ upgrade: true });
  });

  it('names the connector first, and lists the allowed properties with an unknown one', () => {
    expect(refusal(() => connectionCreateInput({ colour: 'blue', config: [] }))).toEqual({
      message: 'Invalid connection: /connector is required: the name of a connector, see GET /v1/connectors (and 2 more).',
      details: [
        { path: '/connector', message: 'is required: the name of a connector, see GET /v1/connectors' },
        { path: '/colour', message: 'is not an allowed property (allowed: connector, config, credentials, description)' },
        { path: '/config', message: 'must be an object' },
      ],
    });
    expect(refusal(() => connectionUpdateInput({ credentials: 'secret' })).details).toEqual([{ path: '/credentials', message: 'must be an object' }]);
  });

  it('refuses an authorization with the words of each check', () => {
    const redirect = 'redirectAfter must be an https URL of your app, where the browser goes after linking.';
    expect(refusal(() => authorizeInput({ connector: 'hubspot', scope: 'all' }, redirect))).toEqual({
      message: 'Unknown field scope; allowed: connector, config, redirectAfter, connectionId, description.',
      details: [{ path: '/scope', message: 'is not an allowed property' }],
    });
    expect(refusal(() => authorizeInput({}, redirect)).details).toEqual([{ path: '/connector', message: 'unknown connector' }]);
    expect(refusal(() => authorizeInput({ connector: 'hubspot', config: 'x' }, redirect)).message).toBe('Invalid connection: /config must be an object.');
    expect(refusal(() => authorizeInput({ connector: 'hubspot', redirectAfter: 42 }, redirect)).message).toBe(redirect);
  });
});
