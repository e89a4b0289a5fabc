// `tessera/verify`: the verifier SDK, published on its own as `@tessera/verify`.
export * from "@tessera/verify";
