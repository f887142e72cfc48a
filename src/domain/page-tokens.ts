import { createHmac, timingSafeEqual } from "node:crypto";
import type { UserCursor } from "./admin-ports.js";
import { validationError } from "./errors.js";

/**
 * ListUsers page tokens: the keyset cursor (the last user's created_at and
 * id) with an HMAC under a server key, so a client can neither forge a
 * position nor reuse a token with another `query` (the query is inside the
 * MAC, not the token). Every replica with the same key accepts every
 * replica's tokens; there is no server-side state.
 *
 *   version (1 byte) | created_at ms (8) | id (16, the UUID's bytes) | MAC (16)
 *
 * base64url-encoded: 55 characters. 128 bits of HMAC-SHA-256 are plenty for
 * a token that only ever selects where a listing resumes.
 */
const VERSION = 1;
const BODY_BYTES = 1 + 8 + 16;
const MAC_BYTES = 16;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface PageTokens {
  seal(cursor: UserCursor, query: string): string;
  /** Throws VALIDATION_ERROR (field page_token) for a token this server did not issue for this query. */
  open(token: string, query: string): UserCursor;
}

export function createPageTokens(key: Uint8Array): PageTokens {
  if (key.length < 32) throw new Error("page token key must be at least 256 bits");
  const mac = (body: Buffer, query: string) =>
    createHmac("sha256", key).update(body).update(Buffer.from(query, "utf8")).digest().subarray(0, MAC_BYTES);
  const invalid = () => validationError([{ field: "page_token", description: "is not a valid page token" }]);

  return {
    seal(cursor, query) {
      const id = cursor.id.toLowerCase();
      if (!UUID.test(id)) throw new Error("cursor id is not a UUID");
      const body = Buffer.alloc(BODY_BYTES);
      body.writeUInt8(VERSION, 0);
      body.writeBigInt64BE(BigInt(+cursor.createdAt), 1);
      Buffer.from(id.replaceAll("-", ""), "hex").copy(body, 9);
      return Buffer.concat([body, mac(body, query)]).toString("base64url");
    },

    open(token, query) {
      const raw = Buffer.from(token, "base64url");
      // Node's decoder skips characters outside the alphabet: only the exact
      // encoding of what was issued is accepted.
      if (raw.length !== BODY_BYTES + MAC_BYTES || raw.toString("base64url") !== token) throw invalid();
      const body = raw.subarray(0, BODY_BYTES);
      if (!timingSafeEqual(raw.subarray(BODY_BYTES), mac(body, query)) || body.readUInt8(0) !== VERSION) {
        throw invalid();
      }
      const hex = body.subarray(9).toString("hex");
      return {
        createdAt: new Date(Number(body.readBigInt64BE(1))),
        id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      };
    },
  };
}
