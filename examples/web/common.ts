/**
 * What every page of the example shares: the service's address, the
 * clients, and how a page reports success and failure.
 *
 * The service URL comes from `?api=`, defaulting to http://localhost:8080.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AccountService } from "../../gen/auth/v1/account_pb.js";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

export const params = new URLSearchParams(location.search);
export const api = params.get("api") ?? "http://localhost:8080";
const transport = createConnectTransport({ baseUrl: api });
export const auth = createClient(AuthService, transport);
export const account = createClient(AccountService, transport);

export const el = <T extends HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`missing #${id}`);
  return found as T;
};
export const value = (id: string): string => el<HTMLInputElement>(id).value;

export function showStatus(status: string): void {
  el("status").textContent = status;
  el("error").textContent = "";
}

/** Shows the contract's error code (ErrorInfo reason), message and request id. */
export function showError(e: unknown): void {
  const err = ConnectError.from(e);
  const reason = err.findDetails(ErrorInfoSchema)[0]?.reason ?? Code[err.code];
  const requestId = err.metadata.get("x-request-id");
  el("status").textContent = "";
  el("error").textContent = `${reason}: ${err.rawMessage}${requestId ? ` (request ${requestId})` : ""}`;
}

/** Runs one action and reports its failure on the page instead of the console. */
export const action = (fn: () => Promise<void>) => (ev: Event) => {
  ev.preventDefault();
  fn().catch(showError);
};
