import type { LoginGuard } from "./auth-service.js";
import type { PasswordHasher } from "./ports.js";

/**
 * The current password, asked again before a sensitive change (ASVS 6.2.3:
 * ChangePassword, DeleteAccount, SetupTotp, DisableTotp,
 * RegenerateRecoveryCodes), checked through Login's guard keyed as Login
 * keys the account (its e-mail): guesses here and at Login share one
 * per-account budget, so a stolen access token cannot be used to guess the
 * password faster than Login allows. Throws RATE_LIMITED while the account
 * or address must wait; otherwise answers whether the password is right,
 * having counted a wrong one. A check with no verdict (hashing queue full,
 * database down) is released, not held against the account.
 */
export async function recheckPassword(
  deps: { readonly passwords: PasswordHasher; readonly guard?: LoginGuard },
  account: { readonly key: string; readonly passwordHash: string },
  password: string,
  clientAddress: string,
): Promise<boolean> {
  const { guard } = deps;
  await guard?.check(account.key, clientAddress);
  let ok: boolean;
  try {
    ok = await deps.passwords.verify(password, account.passwordHash);
  } catch (e) {
    await guard?.released(account.key).catch(() => undefined);
    throw e;
  }
  if (ok) await guard?.succeeded(account.key);
  else await guard?.failed(account.key, clientAddress);
  return ok;
}
