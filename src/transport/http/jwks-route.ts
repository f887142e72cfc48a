import type { KeyRing } from "../../tokens/keys.js";
import { type HttpRoute, pathOf, sendJson } from "./http-util.js";

/**
 * GET /.well-known/jwks.json: the public keys other services verify access
 * tokens with, offline. Clients may cache it for five minutes, which bounds
 * how long a rotation takes to reach them.
 */
export function createJwksRoute(keys: Pick<KeyRing, "jwks">): HttpRoute {
  return (req, res) => {
    if (req.method !== "GET" || pathOf(req) !== "/.well-known/jwks.json") return false;
    sendJson(res, 200, keys.jwks, { "Cache-Control": "public, max-age=300" });
    return true;
  };
}
