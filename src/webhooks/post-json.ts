/**
 * POSTs a JSON body and resolves with the HTTP status; rejects on a network
 * error or when `signal` aborts (a timeout, the proxy closing). Redirects are
 * not followed: a POST that is redirected would arrive as a GET, or not at all.
 */
export async function postJson(url: string, body: string, userAgent: string, signal: AbortSignal): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': userAgent },
    body,
    redirect: 'manual',
    signal,
  });
  // The answer's body is not read; cancelling it frees the connection for the next delivery.
  await response.body?.cancel().catch(() => undefined);
  return response.status;
}
