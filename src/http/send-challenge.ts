import type { Context } from "hono";
import { issueChallenge } from "../challenges/issue-challenge.ts";
import type { ChallengePurpose } from "../db/schema.ts";
import type { AppEnv } from "./app-env.ts";
import { sendEmail } from "./send-email.ts";

/** The issuer's hosted page that uses each purpose's link (a passwordless code has none). */
const LINK_PAGES: Record<ChallengePurpose, string | undefined> = {
  verify_email: "/verify-email",
  change_email: "/verify-email",
  reset_password: "/reset-password",
  otp: undefined,
};

/**
 * Issues a link and code for `purpose` and, when `deliver`, emails them to `email` in the
 * background. The challenge is stored either way, so a request for an address without an
 * account does the same work as one with (docs/design/accounts.md#no-enumeration); only the
 * message is left out.
 */
export async function sendChallenge(
  c: Context<AppEnv>,
  input: {
    purpose: ChallengePurpose;
    email: string;
    userId: string | null;
    /** What a new send replaces by (default: the address). */
    subject?: string;
    createUser?: boolean;
    deliver: boolean;
  },
): Promise<void> {
  const { db, emailCodeKey, clock, config } = c.get("deps");
  const issued = await issueChallenge(db, emailCodeKey, {
    purpose: input.purpose,
    subject: input.subject ?? input.email,
    email: input.email,
    userId: input.userId,
    createUser: input.createUser,
    now: clock.now(),
  });
  if (!input.deliver) return;
  const page = LINK_PAGES[input.purpose];
  void sendEmail(c, input.purpose, input.email, {
    code: issued.code,
    expiresInMinutes: page ? issued.linkTtlMinutes : 10,
    ...(page ? { link: `${config.issuer}${page}?token=${issued.token}` } : {}),
  });
}
