import type { RequestMeta } from "./types.js";

/** Longest user agent a session keeps (the column's size); real ones are far shorter. */
export const USER_AGENT_MAX_LENGTH = 512;
/** Longest client address a session keeps (the column's size; an IPv6 address with a zone fits). */
export const CLIENT_ADDRESS_MAX_LENGTH = 64;

// C0 controls, DEL and C1 controls: a header value the user later reads back
// in a session list must not carry line breaks, escapes or terminal codes.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

const clean = (raw: string, max: number) => [...raw.replace(CONTROL, "")].slice(0, max).join("").trim();

/**
 * What a new session records about the client that opened it, for the
 * user's own session list: the address and the user agent as sent, with
 * control characters removed and each cut to its column's size (counted in
 * characters, as PostgreSQL's varchar counts them). Never used for any
 * decision.
 */
export function sessionDetails(meta: RequestMeta): { clientAddress: string; userAgent: string } {
  return {
    clientAddress: clean(meta.clientAddress, CLIENT_ADDRESS_MAX_LENGTH),
    userAgent: clean(meta.userAgent, USER_AGENT_MAX_LENGTH),
  };
}
