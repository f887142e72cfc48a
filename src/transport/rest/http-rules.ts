import { type DescMethod, type DescMethodUnary, type DescService, getOption, hasOption } from "@bufbuild/protobuf";
import { http } from "../../../gen/google/api/annotations_pb.js";

/** One REST route declared by a `google.api.http` annotation. */
export interface HttpRule {
  readonly verb: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly path: string;
  /** True when the whole request message is the JSON body (`body: "*"`). */
  readonly bodyIsMessage: boolean;
  readonly method: DescMethodUnary;
}

/**
 * Reads the REST routes of a service from its descriptors, so the routes can
 * never drift from the proto. Only what this service uses is supported
 * (literal paths, `body: "*"` or no body); anything else fails at start-up
 * instead of being served wrongly.
 */
export function httpRulesOf(service: DescService): HttpRule[] {
  const rules: HttpRule[] = [];
  for (const method of service.methods) {
    if (!hasOption(method, http)) continue;
    const rule = getOption(method, http);
    const { pattern } = rule;
    if (pattern.case === undefined || pattern.case === "custom") {
      throw new Error(`${method.name}: unsupported google.api.http pattern`);
    }
    if (pattern.value.includes("{") || rule.additionalBindings.length > 0) {
      throw new Error(`${method.name}: path templates and additional bindings are not supported`);
    }
    if (rule.body !== "" && rule.body !== "*") {
      throw new Error(`${method.name}: only body "*" or no body is supported`);
    }
    if (!isUnary(method)) throw new Error(`${method.name}: only unary methods can have REST routes`);
    rules.push({
      verb: pattern.case.toUpperCase() as HttpRule["verb"],
      path: pattern.value,
      bodyIsMessage: rule.body === "*",
      method,
    });
  }
  return rules;
}

const isUnary = (m: DescMethod): m is DescMethodUnary => m.methodKind === "unary";
