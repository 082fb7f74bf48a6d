/**
 * hio's doing module: doers (Doer, ReDoer, doify, doize), the root scheduler Doist, the
 * nested scheduler DoDoer, and the deed queue they share. Import from here or from the
 * package entry.
 */

export { Doer, ReDoer, doify, doize } from "./doer.ts";
export type { DoerOptions, EnterOptions, DoifyOptions, Doified, Doized, OptsOf } from "./doer.ts";
export { Doist } from "./doist.ts";
export type { DoistOptions, DoistDoOptions, DeedTree } from "./doist.ts";
export { DoDoer } from "./dodoer.ts";
export type { DoDoerOptions, DoDoerDoOptions } from "./dodoer.ts";
export { DeedQueue } from "./deeding.ts";
export type { Deed, DeedNode, DoerLike, DoFn, DoOptions, DoOpts, Dog } from "./deeding.ts";
