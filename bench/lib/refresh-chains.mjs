// autocannon runs where every connection refreshes its own session chain, shared by run.mjs,
// ab.mjs and profile.mjs.
import { load } from "./measure.mjs";

/**
 * Refresh chains over `tokens`: in a run, connection i takes slot i and keeps the rotated
 * token each response brings (autocannon clears a request's `context` after every loop, so
 * the state lives here). `path` is the token endpoint: Tessera's `/oauth/token`, OpenAuth's
 * `/token`; both take `grant_type=refresh_token` form-encoded and answer with the rotated
 * `refresh_token`.
 *
 * A run can end with requests in flight: the server may have rotated a token whose answer
 * autocannon never read, and a later run presenting the old one after the reuse grace (10 s)
 * is a replay that revokes the session — every later request of that chain would fail. So
 * each run ends by settling those slots at once: one more refresh with the token the slot
 * holds, inside the grace, converges on the live one (or rotates it, if the request never
 * arrived).
 */
export function refreshChains(tokens, path = "/oauth/token") {
  const inFlight = new Set();
  const body = (slot) =>
    `grant_type=refresh_token&refresh_token=${encodeURIComponent(tokens[slot])}`;
  const request = (slot) => ({
    method: "POST",
    path,
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    setupRequest: (req) => {
      inFlight.add(slot);
      return { ...req, body: body(slot) };
    },
    onResponse: (status, response) => {
      inFlight.delete(slot);
      if (status === 200) tokens[slot] = JSON.parse(response).refresh_token;
    },
  });
  const settle = async (url) => {
    for (const slot of [...inFlight]) {
      const res = await fetch(`${url}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: body(slot),
      });
      if (!res.ok) throw new Error(`settling chain ${slot}: ${res.status} ${await res.text()}`);
      tokens[slot] = (await res.json()).refresh_token;
      inFlight.delete(slot);
    }
  };
  return {
    /** One autocannon run (`connections`, `duration`, …) against `url`, then the settling. */
    async run(url, options) {
      let nextSlot = 0;
      const result = await load({
        url,
        ...options,
        requests: [request(0)],
        setupClient: (client) => client.setRequests([request(nextSlot++)]),
      });
      await settle(url);
      return result;
    },
  };
}
