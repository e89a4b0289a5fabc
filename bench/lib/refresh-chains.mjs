// autocannon options for the refresh scenarios, shared by run.mjs and profile.mjs.

/**
 * autocannon options where every connection refreshes its own session chain: a connection
 * takes a slot when it is set up and keeps the rotated token each response brings.
 * (autocannon clears a request's `context` after every loop, so the state lives here.)
 * `path` is the token endpoint: Tessera's `/oauth/token`, OpenAuth's `/token`; both take
 * `grant_type=refresh_token` form-encoded and answer with the rotated `refresh_token`.
 */
export function refreshChains(tokens, path = "/oauth/token") {
  let nextSlot = 0;
  const request = (slot) => ({
    method: "POST",
    path,
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    setupRequest: (req) => ({
      ...req,
      body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(tokens[slot])}`,
    }),
    onResponse: (status, body) => {
      if (status === 200) tokens[slot] = JSON.parse(body).refresh_token;
    },
  });
  return {
    reset: () => {
      nextSlot = 0;
    },
    options: {
      requests: [request(0)],
      setupClient: (client) => client.setRequests([request(nextSlot++)]),
    },
  };
}
