import { join } from "node:path";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";

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

/** A plain @grpc/grpc-js client built from the .proto files, with no Connect code involved. */
export function grpcJsClient(port: number, service = "auth.v1.AuthService", file = "auth/v1/auth.proto") {
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
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

/** Calls a unary method of a grpc-js client and resolves with the response, the error and the metadata. */
export function grpcJsCall<T = Record<string, unknown>>(
  client: grpc.Client,
  method: string,
  request: unknown,
  metadata = new grpc.Metadata(),
): Promise<{ response?: T; error?: grpc.ServiceError; headers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    const fn = (client as unknown as Record<string, (...a: unknown[]) => grpc.ClientUnaryCall>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    const call = fn.call(client, request, metadata, (error: grpc.ServiceError | null, response: T) =>
      resolve({ response: error ? undefined : response, error: error ?? undefined, headers }),
    );
    call.on("metadata", (m: grpc.Metadata) => (headers = m));
  });
}
