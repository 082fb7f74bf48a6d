/**
 * hio-ts: weightless hierarchical cooperative coroutines and nonblocking I/O.
 * The base layer (tyme, doing) is exported flat; the I/O layers as the `tcp` and `http` namespaces,
 * and a kit for tests in simulated tyme as `testing`.
 */
export { Tymist, Tymee, Tymer } from "./base/tyming.ts";
export type { Tymth, TymistOptions, TymeeOptions, TymerOptions } from "./base/tyming.ts";
export { ByteBuffer } from "./base/buffering.ts";
export { MachineTable, RefusedEvent, Stepper } from "./base/machining.ts";
export type { StepObserver } from "./base/machining.ts";
export { Doer, ReDoer, DoDoer, Doist, doify, doize, DeedQueue } from "./base/doing.ts";
export type {
  Dog,
  DoerLike,
  Deed,
  DoFn,
  DoOptions,
  DoOpts,
  DoerOptions,
  EnterOptions,
  DoifyOptions,
  Doified,
  Doized,
  OptsOf,
  DoistOptions,
  DoistDoOptions,
  DeedTree,
  DeedNode,
  DoDoerOptions,
  DoDoerDoOptions,
} from "./base/doing.ts";
export { ServicingDoer } from "./base/servicing.ts";
export { wake } from "./base/waking.ts";
export type { Servicing } from "./base/servicing.ts";
export * as tcp from "./tcp/index.ts";
export * as http from "./http/index.ts";
export * as testing from "./testing/index.ts";
export type { FetchApp, HttpEnv } from "./http/index.ts";
