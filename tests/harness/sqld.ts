// The one sqld starter lives in scripts/ensure-sqld.mjs (plain JS, shared with the bench);
// this keeps the harness's import path for its callers.
export { type Sqld, startSqld } from "../../scripts/ensure-sqld.mjs";
