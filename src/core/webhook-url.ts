/**
 * Checks a webhook URL (`--webhook`, the `proxytainer.webhook` label): http
 * or https, nothing else. Throws an Error that says what a good one looks like.
 */
export function parseWebhookUrl(text: string): URL {
  const example = 'write it like https://hooks.example.com/proxytainer or http://127.0.0.1:8080/hook';
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error(`"${text}" is not a URL; ${example}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`"${text}" is not an http or https URL (state changes are POSTed as JSON); ${example}`);
  }
  return url;
}

/** The URL as logs and metric labels show it: no credentials, no query (they may hold secrets). */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
