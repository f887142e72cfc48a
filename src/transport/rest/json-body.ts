import type { JsonValue } from "@bufbuild/protobuf";
import { createWireError, HttpError } from "../errors.js";
import type { NodeRequest } from "../server.js";

/** A VALIDATION_ERROR with the HTTP status that fits the problem (400, 405, 413, 415). */
export const badRequest = (message: string, httpStatus = 400): HttpError =>
  new HttpError(createWireError("VALIDATION_ERROR", message, { httpStatus }));

/** Reads a JSON body, within `timeoutMs` if given; an empty body is an empty message. Throws an {@link HttpError} for a body it refuses. */
export async function readJsonBody(req: NodeRequest, maxBytes: number, timeoutMs?: number): Promise<JsonValue> {
  const text = await withDeadline(readBody(req, maxBytes), timeoutMs);
  if (text.trim() === "") return {};
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) throw badRequest("content-type must be application/json", 415);
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw badRequest("request body is not valid JSON");
  }
}

async function readBody(req: NodeRequest, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  // An oversized body is drained, not stored: breaking off the read would
  // tear down the socket before the 413 can be sent.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  }
  if (size > maxBytes) throw badRequest(`request body is larger than ${maxBytes} bytes`, 413);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Bounds how long a body may take to arrive. Over HTTP/1.1 Node's
 * requestTimeout does this too; over HTTP/2 nothing in Node does, and a
 * client sending one byte a minute would hold the call for ever. Past the
 * deadline the client gets 408; the server's stream guard then resets the
 * stream if the client is still sending (src/transport/h2-guards.ts).
 */
function withDeadline(reading: Promise<string>, timeoutMs: number | undefined): Promise<string> {
  if (timeoutMs === undefined) return reading;
  // The read may still fail after the deadline answered (the stream is reset); that is no news.
  reading.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(badRequest(`request body not received within ${timeoutMs} ms`, 408)), timeoutMs);
  });
  return Promise.race([reading, late]).finally(() => clearTimeout(timer));
}
