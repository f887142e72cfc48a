import type { JsonValue } from "@bufbuild/protobuf";
import { createWireError, HttpError } from "../errors.js";
import type { NodeRequest } from "../server.js";

/** A VALIDATION_ERROR with the HTTP status that fits the problem (400, 405, 413, 415). */
export const badRequest = (message: string, httpStatus = 400): HttpError =>
  new HttpError(createWireError("VALIDATION_ERROR", message, { httpStatus }));

/** Reads a JSON body; an empty body is an empty message. Throws an {@link HttpError} for a body it refuses. */
export async function readJsonBody(req: NodeRequest, maxBytes: number): Promise<JsonValue> {
  const chunks: Buffer[] = [];
  let size = 0;
  // An oversized body is drained, not stored: breaking off the read would
  // tear down the socket before the 413 can be sent.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  }
  if (size > maxBytes) throw badRequest(`request body is larger than ${maxBytes} bytes`, 413);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) throw badRequest("content-type must be application/json", 415);
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw badRequest("request body is not valid JSON");
  }
}
