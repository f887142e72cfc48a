import { join } from "node:path";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";
import { outcome } from "./errors.js";

export type AuthClient = Client<typeof AuthService>;

/** Connect protocol (JSON by default) over HTTP/1.1, as browsers and curl speak it. */
export const connectTransport = (baseUrl: string, useBinaryFormat = false): Transport =>
  createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat });

/** gRPC over HTTP/2 cleartext with Connect's own client. */
export const grpcTransport = (baseUrl: string): Transport => createGrpcTransport({ baseUrl });

/** gRPC-Web over HTTP/1.1. */
export const grpcWebTransport = (baseUrl: string): Transport => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });

export const authClient = (transport: Transport): AuthClient => createClient(AuthService, transport);

const PROTO_DIR = join(import.meta.dirname, "..", "..", "proto");

/** The method definitions of each grpc-js client made here, for calls by method name. */
const definitions = new WeakMap<grpc.Client, grpc.ServiceDefinition>();

/** A plain @grpc/grpc-js client built from the .proto files, with no Connect code involved. */
export function grpcJsClient(port: number, service = "auth.v1.AuthService", file = "auth/v1/auth.proto"): grpc.Client {
  const def = protoLoader.loadSync(file, {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def);
  const Ctor = service
    .split(".")
    .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], pkg) as grpc.ServiceClientConstructor;
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  definitions.set(client, Ctor.service);
  return client;
}

function methodOf(client: grpc.Client, method: string): grpc.MethodDefinition<unknown, unknown> {
  const m = definitions.get(client)?.[method];
  if (!m) throw new Error(`no method ${method}`);
  return m;
}

/** Calls a unary method of a grpc-js client and resolves with the response, the error and the metadata. */
export function grpcJsCall<T = Record<string, unknown>>(
  client: grpc.Client,
  method: string,
  request: unknown,
  metadata = new grpc.Metadata(),
): Promise<{ response?: T; error?: grpc.ServiceError; headers?: grpc.Metadata }> {
  const m = methodOf(client, method);
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    const call = client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      request,
      metadata,
      (error: grpc.ServiceError | null, response?: unknown) =>
        resolve({ response: error ? undefined : (response as T), error: error ?? undefined, headers }),
    );
    call.on("metadata", (m: grpc.Metadata) => (headers = m));
  });
}

/** Opens a server-streaming call of a grpc-js client by method name. */
export function grpcJsServerStream<T>(
  client: grpc.Client,
  method: string,
  request: unknown,
): grpc.ClientReadableStream<T> {
  const m = methodOf(client, method);
  return client.makeServerStreamRequest(
    m.path,
    m.requestSerialize,
    (bytes: Buffer) => m.responseDeserialize(bytes) as T,
    request,
  );
}

/** A login as if forwarded by a trusted proxy for `address` (the server must trust 127.0.0.1). */
export const loginFrom = (client: AuthClient, address: string, emailOrUsername: string, password: string) =>
  outcome(client.login({ emailOrUsername, password }, { headers: { "x-forwarded-for": address } }));

/** The n-th address of a private range, for requests that must each come from somewhere else. */
export const addressNo = (n: number, prefix = 10) => `${prefix}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
