/**
 * The password-strength estimator's thread (see strength-estimator.ts).
 *
 * Node runs this file on its own: in tests and under tsx it is TypeScript
 * that Node strips itself, so it uses erasable syntax only and imports
 * packages only (no relative imports, whose .js names would not resolve).
 */
import { parentPort } from "node:worker_threads";
import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { adjacencyGraphs, dictionary as common } from "@zxcvbn-ts/language-common";
import { dictionary as english, translations } from "@zxcvbn-ts/language-en";

interface Request {
  readonly id: number;
  readonly password: string;
  readonly userInputs: string[];
}

const port = parentPort;
if (port === null) throw new Error("strength-worker runs only as a worker thread");

const zxcvbn = new ZxcvbnFactory({
  translations,
  graphs: adjacencyGraphs,
  dictionary: { ...common, ...english },
  // The l33t matcher tries every combination of substitutions; the default
  // (100) lets one 100-character password of l33t-able symbols cost a second
  // or more of CPU. Ten still catches "p@ssw0rd"-style variants.
  l33tMaxSubstitutions: 10,
});

port.on("message", (req: Request) => {
  const result = zxcvbn.check(req.password, req.userInputs);
  port.postMessage({
    id: req.id,
    score: result.score,
    warning: result.feedback.warning,
    suggestions: result.feedback.suggestions,
  });
});
