'use strict';

// Hookhub's Zapier app: an instant (REST hook) trigger for each event type of Hookhub's catalog.
// docs/zapier.md says how to publish it (`zapier push`) and connect it to a hub.
const { version: platformVersion } = require('zapier-platform-core');
const { version } = require('./package.json');
const authentication = require('./authentication');
const { addApiKey, explainErrors } = require('./hub');
const { triggers } = require('./triggers');

module.exports = {
  version,
  platformVersion,
  authentication,
  beforeRequest: [addApiKey],
  afterResponse: [explainErrors],
  triggers,
  // Every request of the app goes through z.request, which Zapier logs: Node's http module is left unpatched.
  flags: { skipHttpPatch: true },
};
