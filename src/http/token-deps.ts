import type { AppDeps } from "../deps.ts";
import type { KeyStore } from "../keys/key-store.ts";
import { type AccessTokenSettings, accessTokenSettings } from "../tokens/access-token.ts";

/** The narrow inputs token modules take to sign or check tokens. */
export type TokenDeps = { keys: KeyStore; settings: AccessTokenSettings; macKey: Uint8Array };

/**
 * Cuts {@link TokenDeps} from the app's dependencies: routes hand these to `tokens/` rather
 * than the whole `AppDeps` (docs/design/layers.md). A client's own access-token TTL
 * overrides the default.
 */
export function tokenDeps(deps: AppDeps, client?: { accessTokenTtl: number | null }): TokenDeps {
  return {
    keys: deps.keys,
    settings: accessTokenSettings(deps.config, client),
    macKey: deps.refreshMacKey,
  };
}
