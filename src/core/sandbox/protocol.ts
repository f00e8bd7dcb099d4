/**
 * Messages between the hub and an expression sandbox process. One request is a
 * batch; the process evaluates its items in order and reports results in order,
 * in one or more messages, so the hub always knows which item is running.
 */

export interface EvaluationLimits {
  /** JSONata's own (cooperative) deadline for one evaluation. */
  timeoutMs: number;
  /** Maximum evaluation depth (runaway recursion). */
  maxDepth: number;
  /** Maximum length of one generated sequence. */
  maxSequence: number;
}

export interface SandboxRequest {
  id: number;
  limits: EvaluationLimits;
  /** Distinct expression sources of the batch. */
  sources: string[];
  /** Distinct inputs; items refer to them by index, so an event shared by many items crosses once. */
  inputs: unknown[];
  /** Bindings; a function among them (e.g. `$ref`) travels as a HostFunction and runs in the hub when called. */
  bindings: Array<Record<string, unknown> | undefined>;
  /** [source index, input index, bindings index]. */
  items: Array<[number, number, number]>;
}

export type SandboxResult =
  | { ok: true; value: unknown }
  | { ok: false; message: string; code?: string; position?: number };

export interface SandboxResponse {
  id: number;
  /** Results of the items from this index on, in order. */
  from: number;
  results: SandboxResult[];
  /** Set on the last message of a batch. */
  done?: boolean;
  /** CPU time the process has used so far, in microseconds (user + system). */
  cpuMicros?: number;
}

/** Stands in a binding for a function of the hub's, by its index in the batch. */
export interface HostFunction {
  hostFunction: number;
}

/** The sandbox asks the hub to run one of its functions for the batch in progress. */
export interface HostCall {
  call: number;
  id: number;
  fn: number;
  args: unknown[];
}

/** The hub's answer to a HostCall. */
export interface HostReply {
  reply: number;
  ok: boolean;
  value?: unknown;
  message?: string;
}

/** The first message a sandbox process sends: it has loaded and waits for work. */
export interface SandboxReady {
  ready: true;
  /** CPU used to start, so that evaluations are counted without it. */
  cpuMicros: number;
}
