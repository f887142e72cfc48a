import { type DescMethod, type DescMethodUnary, type DescService, getOption, hasOption } from "@bufbuild/protobuf";
import { http } from "../../../gen/google/api/annotations_pb.js";
import { compile, type PathTemplate } from "./path-template.js";
import { canonicalPath, resolveFieldPath } from "./request-fields.js";

/** One REST route declared by a `google.api.http` annotation. */
export interface HttpRule {
  readonly verb: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** The path template as declared, e.g. `/admin/users/{user_id}`. */
  readonly path: string;
  readonly template: PathTemplate;
  /** Canonical field paths bound by the template's variables, e.g. `user_id`. */
  readonly pathFields: readonly string[];
  /**
   * True when the request message is the JSON body (`body: "*"`): then the
   * fields not bound by the path come from the body and none from the query
   * string; otherwise they all come from the query string.
   */
  readonly bodyIsMessage: boolean;
  readonly method: DescMethodUnary;
}

/**
 * Reads the REST routes of services from their descriptors, so the routes
 * can never drift from the proto. Supported: path templates with variables
 * (path-template.ts), `body: "*"` or no body. Anything else, or a variable
 * that names no singular scalar or enum field of the request, fails at
 * start-up instead of being served wrongly.
 */
export function httpRulesOf(...services: readonly DescService[]): HttpRule[] {
  return services.flatMap((service) => service.methods.flatMap((method) => ruleOf(method)));
}

function ruleOf(method: DescMethod): HttpRule[] {
  if (!hasOption(method, http)) return [];
  // Typed on the variable, so that TypeScript narrows after a call.
  const fail: (why: string) => never = (why) => {
    throw new Error(`${method.parent.typeName}.${method.name}: ${why}`);
  };
  const rule = getOption(method, http);
  const { pattern } = rule;
  if (pattern.case === undefined || pattern.case === "custom") fail("unsupported google.api.http pattern");
  if (rule.additionalBindings.length > 0) fail("additional bindings are not supported");
  if (rule.body !== "" && rule.body !== "*") fail('only body "*" or no body is supported');
  if (rule.responseBody !== "") fail("response_body is not supported");
  if (!isUnary(method)) return fail("only unary methods can have REST routes");
  const path = pattern.value;
  const template = compile(path);
  const pathFields = template.fieldPaths.map((p) => {
    const fields = resolveFieldPath(method.input, p);
    const leaf = fields?.at(-1);
    if (fields === undefined || (leaf?.fieldKind !== "scalar" && leaf?.fieldKind !== "enum")) {
      fail(`path variable "${p}" must name a singular scalar or enum field of ${method.input.typeName}`);
    }
    return canonicalPath(fields);
  });
  return [
    {
      verb: pattern.case.toUpperCase() as HttpRule["verb"],
      path,
      template,
      pathFields,
      bodyIsMessage: rule.body === "*",
      method,
    },
  ];
}

const isUnary = (m: DescMethod): m is DescMethodUnary => m.methodKind === "unary";
