'use strict';

const catalog = require('./catalog.json');
const { hubUrl } = require('./hub');

/**
 * An instant trigger for one event type, through REST hooks
 * (https://docs.zapier.com/platform/build/cli-hook-trigger): turning a Zap on subscribes its
 * hook URL to the event type, turning it off deletes that subscription, and each delivery Hookhub
 * sends to the hook URL starts the Zap with the delivery's body.
 */
function hookTrigger({ type, key, noun, label, description, sample }) {
  return {
    key,
    noun,
    display: { label, description },
    operation: {
      type: 'hook',
      async performSubscribe(z, bundle) {
        const response = await z.request({ method: 'POST', url: `${hubUrl(z, bundle)}/v1/zapier/subscriptions`, body: { target_url: bundle.targetUrl, event: type } });
        return response.data;
      },
      async performUnsubscribe(z, bundle) {
        await z.request({ method: 'DELETE', url: `${hubUrl(z, bundle)}/v1/zapier/subscriptions/${encodeURIComponent(bundle.subscribeData.id)}` });
        return {};
      },
      // The delivery's JSON body, as every webhook receives it: {id, type, created, data, webhook}.
      perform(z, bundle) {
        return [bundle.cleanedRequest];
      },
      // Recent events of the type (else the catalog's sample), in the same shape as deliveries.
      async performList(z, bundle) {
        const response = await z.request({ url: `${hubUrl(z, bundle)}/v1/zapier/samples/${encodeURIComponent(type)}` });
        return response.data.data;
      },
      sample,
    },
  };
}

const triggers = Object.fromEntries(catalog.events.map((entry) => [entry.key, hookTrigger(entry)]));

module.exports = { triggers };
