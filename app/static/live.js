// Live updates: the contract's subscriptions over graphql-ws (graphql-transport-ws protocol).
// graphql-ws re-sends each subscription after a reconnect; it stringifies the same payload object
// again, so keeping `variables.after` at the last cursor seen makes the server replay exactly the
// events missed while the socket was down, from the event log, before going on live.

/* global graphqlWs */

export function connectLive(token, onStatus) {
  const url = new URL("graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return graphqlWs.createClient({
    url: url.href,
    connectionParams: () => ({ authorization: `Bearer ${token}` }),
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 5000))),
    keepAlive: 10000, // ping every 10 s so a silently dead connection is noticed
    on: {
      connecting: (retrying) => onStatus(retrying ? "reconnecting" : "connecting"),
      connected: (_socket, _payload, wasRetry) => onStatus("live", wasRetry),
      closed: (event) => onStatus(event && event.code === 4403 ? "refused" : "lost", event),
    },
  });
}

/** Follow one contract subscription; ``onEvent`` gets each event, the cursor is kept for resuming. */
export function follow(client, op, variables, onEvent, onError) {
  const payload = {
    operationName: op.name,
    query: op.body,
    variables: { ...variables, after: variables.after ?? null },
    extensions: { persistedQuery: { version: 1, sha256Hash: op.id } },
  };
  const dispose = client.subscribe(payload, {
    next: (result) => {
      if (result.errors && result.errors.length) {
        onError(result.errors[0]);
        return;
      }
      const event = Object.values(result.data || {})[0];
      if (!event) return;
      payload.variables.after = event.cursor; // resume point for the next reconnect
      onEvent(event);
    },
    error: (err) => onError(Array.isArray(err) ? err[0] : err),
    complete: () => {},
  });
  return { dispose, cursor: () => payload.variables.after };
}
