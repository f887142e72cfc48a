import { afterAll, beforeAll, describe } from "vitest";
import { describeEachDatabase } from "../helpers/databases.js";
import { mfaRepositoryContract } from "./mfa-repository.contract.js";
import { sessionRepositoryContract } from "./session-repository.contract.js";
import { openRepositories, type RepositoryFixture } from "./support.js";
import { userAdministrationContract } from "./user-administration.contract.js";
import { userRepositoryContract } from "./user-repository.contract.js";

/** The repository contract, once per database (as Ory Kratos runs one persister suite on every database). */
await describeEachDatabase(describe, "repositories", (kind) => {
  let repos: RepositoryFixture;
  beforeAll(async () => {
    repos = await openRepositories(kind);
  });
  afterAll(() => repos?.close());

  describe("UserRepository", () => userRepositoryContract(() => repos));
  describe("SessionRepository", () => sessionRepositoryContract(() => repos));
  describe("UserAdministration and SessionAdministration", () => userAdministrationContract(() => repos));
  describe("Second factor (MfaFactorRepository, mfa_enabled)", () => mfaRepositoryContract(() => repos));
});
