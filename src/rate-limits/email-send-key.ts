import { sha256Base64url } from "../lib/sha256.ts";

/** The per-address email send counter's key in `rate_limits` (the address is never stored). */
export const emailSendLimitKey = async (email: string) => `email:${await sha256Base64url(email)}`;
