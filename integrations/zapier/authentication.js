'use strict';

const { hubUrl } = require('./hub');

/** What Hookhub's routes for Zapier need; GET /v1/zapier/me names those a key lacks. */
const NEEDED = 'subscriptions:read, subscriptions:write and deliveries:read';

/** The connection test: the key's tenant and name, refused when the key cannot do what the triggers do. */
async function test(z, bundle) {
  const response = await z.request({ url: `${hubUrl(z, bundle)}/v1/zapier/me` });
  const me = response.data;
  if (me.missingScopes.length > 0) {
    throw new z.errors.Error(
      `The API key "${me.keyName}" lacks the scope${me.missingScopes.length > 1 ? 's' : ''} ${me.missingScopes.join(', ')}. Create a key with ${NEEDED} (POST /v1/api-keys) and connect with it.`,
      'MissingScopes',
      403,
    );
  }
  return me;
}

module.exports = {
  type: 'custom',
  fields: [
    {
      key: 'baseUrl',
      label: 'Hookhub URL',
      type: 'string',
      required: false,
      helpText: 'The address of your Hookhub, e.g. `https://hooks.example.com`. Leave it empty to use the hub this app was published for.',
    },
    {
      key: 'apiKey',
      label: 'API key',
      type: 'password',
      required: true,
      helpText: `A Hookhub API key with the scopes ${NEEDED}.`,
    },
  ],
  test,
  // The test's answer is in bundle.inputData (https://docs.zapier.com/platform/build/connection-label).
  connectionLabel: '{{bundle.inputData.keyName}} ({{bundle.inputData.tenantId}})',
};
