'use strict';

/**
 * The hub's address: the connection's Hookhub URL, or else HOOKHUB_URL of the app's environment
 * (`zapier env:set <version> HOOKHUB_URL=https://...` for an app published for one hub).
 */
function hubUrl(z, bundle) {
  const base = String(bundle.authData.baseUrl || process.env.HOOKHUB_URL || '').trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(base)) {
    throw new z.errors.Error(
      'No Hookhub URL: enter the address of your Hookhub (e.g. https://hooks.example.com) in the connection, or ask the operator to set HOOKHUB_URL for the app.',
      'HookhubUrlMissing',
      400,
    );
  }
  return base;
}

/** Every request carries the connection's API key, as every /v1 route of Hookhub wants it. */
function addApiKey(request, z, bundle) {
  if (bundle.authData.apiKey) request.headers.Authorization = `Bearer ${bundle.authData.apiKey}`;
  return request;
}

/** Hookhub's errors ({"error": {"code", "message"}}) with its message; a refused key asks the user to reconnect. */
function explainErrors(response, z) {
  if (response.status < 400) return response;
  let error = {};
  try {
    error = JSON.parse(response.content).error || {};
  } catch {
    // Not Hookhub's error body (a proxy's page): the status says it.
  }
  const message = error.message || `Hookhub answered ${response.status} to ${response.request.method} ${response.request.url}.`;
  if (response.status === 401) throw new z.errors.ExpiredAuthError(message);
  throw new z.errors.Error(message, error.code || `http_${response.status}`, response.status);
}

module.exports = { hubUrl, addApiKey, explainErrors };
