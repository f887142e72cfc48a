import { type DescFile, type DescService, toBinary } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** The request's oneof, as v1 and v1alpha both shape it. */
interface ReflectionQuery {
  readonly case: string | undefined;
  readonly value?: unknown;
}

type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "listServicesResponse"; value: { service: Array<{ name: string }> } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha, whose messages are
 * wire-identical) built from the generated descriptors of the services
 * served, so grpcurl and buf curl work with no .proto files at hand.
 */
export function registerReflection(router: ConnectRouter, services: readonly DescService[]): void {
  const all = [...services, ReflectionV1, ReflectionV1alpha];
  const answer = createAnswerer(all);
  router.service(ReflectionV1, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests)
        yield { validHost: req.host, originalRequest: req, messageResponse: answer(req.messageRequest) };
    },
  });
  router.service(ReflectionV1alpha, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests)
        yield { validHost: req.host, originalRequest: req, messageResponse: answer(req.messageRequest) };
    },
  });
}

function createAnswerer(services: readonly DescService[]): (query: ReflectionQuery) => ReflectionAnswer {
  const files = new Map<string, DescFile>();
  const collect = (file: DescFile) => {
    // file.name drops the ".proto" suffix; clients ask by the full path.
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    for (const dep of file.dependencies) collect(dep);
  };
  for (const s of services) collect(s.file);

  const bySymbol = new Map<string, DescFile>();
  // Extensions (google.api.http on MethodOptions), by extended type and field number.
  const extensions = new Map<string, Map<number, DescFile>>();
  for (const file of files.values()) {
    for (const type of nestedTypes(file)) {
      bySymbol.set(type.typeName, file);
      if (type.kind === "service") for (const m of type.methods) bySymbol.set(`${type.typeName}.${m.name}`, file);
      if (type.kind === "extension") {
        const numbers = extensions.get(type.extendee.typeName) ?? new Map<number, DescFile>();
        numbers.set(type.number, file);
        extensions.set(type.extendee.typeName, numbers);
      }
    }
  }

  // A file together with everything it imports, the file itself first.
  const withDependencies = (file: DescFile): ReflectionAnswer => {
    const out: DescFile[] = [];
    const visit = (f: DescFile) => {
      if (out.includes(f)) return;
      out.push(f);
      f.dependencies.forEach(visit);
    };
    visit(file);
    return {
      case: "fileDescriptorResponse",
      value: { fileDescriptorProto: out.map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) },
    };
  };
  const notFound = (what: string): ReflectionAnswer => ({
    case: "errorResponse",
    value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
  });

  return (query) => {
    const name = typeof query.value === "string" ? query.value : "";
    switch (query.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: services.map((s) => ({ name: s.typeName })) } };
      case "fileByFilename": {
        const file = files.get(name);
        return file ? withDependencies(file) : notFound(`file ${name}`);
      }
      case "fileContainingSymbol": {
        const file = bySymbol.get(name.replace(/^\./, ""));
        return file ? withDependencies(file) : notFound(`symbol ${name}`);
      }
      case "fileContainingExtension": {
        const ext = query.value as { containingType: string; extensionNumber: number };
        const file = extensions.get(ext.containingType)?.get(ext.extensionNumber);
        return file ? withDependencies(file) : notFound(`extension ${ext.containingType}(${ext.extensionNumber})`);
      }
      case "allExtensionNumbersOfType":
        return {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: name, extensionNumber: [...(extensions.get(name)?.keys() ?? [])] },
        };
      default:
        return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "unknown request" } };
    }
  };
}
