// Type declarations for softprobe (Node.js binding of libsoftprobe).

/** Contract section 5. Unknown keys are kept by the core. */
export interface Policy {
  externalHttp?: 'allow' | 'strict';
  externalAllowlist?: string[];
  allowHosts?: string[];
  blockHosts?: string[];
  defaultOnMiss?: 'passthrough' | 'error' | 'mock';
  defaultResponse?: MockResponse;
  [key: string]: unknown;
}

export interface MockResponse {
  status?: number;
  headers?: Record<string, string>;
  /** A string, or a JSON value (serialized by the core). */
  body?: unknown;
  /** Binary body (extension). */
  bodyBase64?: string;
}

export interface ErrorResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Rule predicates (contract section 4); all AND-ed. */
export interface RulePredicates {
  direction?: 'outbound' | 'inbound';
  service?: string;
  host?: string;
  hostSuffix?: string;
  notHostSuffix?: string[];
  method?: string;
  path?: string;
  pathPrefix?: string;
  headers?: Record<string, string | string[]>;
  bodyJsonPath?: string;
  equals?: unknown;
  traceTags?: Record<string, string | number | boolean>;
}

/**
 * mockOutbound's argument: predicates at the top level (or under `when`),
 * plus one of `response`, `error`, `action` (or a raw `then`).
 * `direction` defaults to 'outbound'.
 */
export interface MockSpec extends RulePredicates {
  name?: string;
  id?: string;
  priority?: number;
  consume?: 'once' | 'many';
  latencyMs?: number;
  when?: RulePredicates;
  response?: MockResponse;
  error?: ErrorResponse;
  action?: 'mock' | 'error' | 'passthrough' | 'capture_only';
  then?: Record<string, unknown>;
}

/** A contract rule as sent to the core / runtime. */
export interface Rule {
  name?: string;
  id?: string;
  priority?: number;
  consume?: 'once' | 'many';
  latencyMs?: number;
  when: RulePredicates;
  then: { action: string; response?: MockResponse; error?: ErrorResponse };
}

export interface RulesDocument {
  version: 1;
  rules: Rule[];
}

/** findInCase predicate (contract section 3). */
export interface CasePredicate {
  direction?: 'outbound' | 'inbound';
  method?: string;
  host?: string;
  hostSuffix?: string;
  path?: string;
  pathPrefix?: string;
  service?: string;
}

export interface CaseHit {
  response: { status: number; headers: Record<string, string>; body?: string; bodyBase64?: string };
  span: Record<string, unknown>;
}

export interface CaseMatchSummary {
  spanId: string;
  traceId: string;
  method: string;
  host: string;
  path: string;
  status?: number;
}

export interface StrictMiss {
  method: string;
  host: string;
  path: string;
  query?: string;
  requestFingerprint: string;
  nearMiss: null | { rule: string; layer: string; index: number; matched: string[]; failed: { predicate: string; expected: string; actual: string }[] };
  explanation: string;
}

export interface SessionStats {
  sessionId: string;
  sessionRevision: number;
  mode: SessionMode;
  stats: {
    /** Answers with a mock or error response (the reference runtime's count). */
    injectedSpans: number;
    extractedSpans: number;
    strictMisses: number;
    /** Every decided request: injectedSpans + passthroughs + strictMisses. */
    decisions: number;
    /** Decided passthrough (or capture): forwarded to the real network. */
    passthroughs: number;
    lastStrictMiss?: StrictMiss;
    ruleHits?: unknown[];
  };
  /** Remote mode only (added by the core): the runtime's and the local mirror's own stats. */
  sources?: { runtime: SessionStats; local: SessionStats };
}

export type SessionMode = 'replay' | 'capture' | 'generate';

export interface StartSessionOptions {
  mode?: SessionMode;
  policy?: Policy;
  caseId?: string;
  suite?: string;
  redaction?: { enabled?: boolean; headers?: string[]; bodyJsonPaths?: string[] };
  limits?: { maxSpans?: number; maxAttributesPerSpan?: number; maxStringBytes?: number; maxTraceBytes?: number };
  /** Service name given to the core for every request of this session (rules' `service`). */
  service?: string;
}

export interface SoftprobeOptions {
  /**
   * A softprobe-runtime URL, http(s)://host[:port][/prefix] without a query
   * (default: $SOFTPROBE_RUNTIME_URL; none or '': embedded). Checked by the
   * core when the Softprobe is made (SoftprobeError SP_E_INVALID_ARGUMENT).
   */
  baseUrl?: string;
  /** Bearer token for the runtime (default: $SOFTPROBE_API_TOKEN; '': none). */
  token?: string;
  /** Default service name for sessions. */
  service?: string;
  /** Emit a process warning (code SOFTPROBE_STRICT_MISS) on each strict miss. Default true. */
  warnOnStrictMiss?: boolean;
  /** Timeout of one control call to the runtime, ms: a positive integer (default 10000). */
  timeoutMs?: number;
}

export interface CloseResult {
  sessionId: string;
  closed: true;
  /** The case file written (capture and generate sessions; remote: the runtime's path). */
  capturePath?: string;
}

export class SoftprobeSession {
  private constructor();
  /** The session id (the runtime's id in remote mode). */
  readonly id: string;
  readonly mode: SessionMode;
  /** The local core's revision (+1 per successful mutation). */
  readonly revision: number;
  readonly closed: boolean;

  /** Loads a case file. Rejects with CaseLoadError (with `path`). */
  loadCaseFromFile(path: string): Promise<void>;
  /** Loads a case document (object or JSON text). Rejects with CaseLoadError. */
  loadCase(doc: object | string): Promise<void>;
  /** Exactly one match, else throws CaseLookupError (with `matches`). */
  findInCase(predicate?: CasePredicate): CaseHit;
  /** All matches in file order. */
  findAllInCase(predicate?: CasePredicate): CaseHit[];
  /** Appends a rule after the session rules (sp_session_add_rules). Rejects with InvalidRuleError (ruleIndex 0). Resolves with the rule sent. */
  mockOutbound(spec: MockSpec): Promise<Rule>;
  clearRules(): Promise<void>;
  setPolicy(policy: Policy): Promise<void>;
  setAuthFixtures(fixtures: { tokens?: unknown[]; cookies?: unknown[]; metadata?: Record<string, unknown> }): Promise<void>;
  getStats(): Promise<SessionStats>;
  dumpRules(): Promise<RulesDocument>;
  /** Up to 32 most recent strict misses, each explained by the core. */
  strictMisses(): StrictMiss[];
  /** Throws StrictMissError if any request was blocked by the strict policy. */
  assertNoStrictMisses(): void;
  /** Runs fn with this session active for everything it starts (AsyncLocalStorage). */
  run<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): R;
  /** Makes this the process-wide session (used where no run() context applies). */
  activate(): this;
  deactivate(): this;
  /**
   * Closes the session; capture sessions write their case file (to `out`).
   * Remote: this process's captures are sent to the runtime, which writes
   * the case (`out` is a path on the runtime's machine). On a rejection the
   * session is not marked closed and close() again retries (remote: what was
   * not sent yet is sent then).
   */
  close(options?: { out?: string }): Promise<CloseResult>;
}

export class Softprobe {
  constructor(options?: SoftprobeOptions);
  readonly options: SoftprobeOptions;
  /** 'embedded' (in-process core) or 'remote' (a runtime server plus a local mirror). */
  readonly mode: 'embedded' | 'remote';
  startSession(options?: StartSessionOptions): Promise<SoftprobeSession>;
  /** A session object for an existing id. Rejects with UnknownSessionError. */
  attach(id: string, options?: { service?: string }): Promise<SoftprobeSession>;
  /** Sessions of this process's core. */
  listSessions(): { sessionId: string; mode: SessionMode; sessionRevision: number }[];
}

export class SoftprobeError extends Error {
  /** e.g. 'SP_E_INVALID_POLICY', 'RUNTIME_ERROR', 'CASE_LOOKUP'. */
  code: string;
  details: Record<string, unknown>;
}
/**
 * The runtime answered with an HTTP error (or a 2xx that is not JSON). The
 * message carries the runtime's message (or the start of its body);
 * `details` holds the runtime's error details plus `url` and `status`.
 */
export class RuntimeError extends SoftprobeError {
  /** The runtime's HTTP status; absent when it answered but did not take everything (close: OTLP partialSuccess). */
  status?: number;
  url?: string;
}
export class UnknownSessionError extends SoftprobeError {
  sessionId: string;
  /** Set when the runtime answered 404. */
  status?: number;
  url?: string;
}
/** Nothing answered at the runtime URL: `details.cause` says why (refused, DNS, timeout). */
export class RuntimeUnreachableError extends SoftprobeError {
  url: string;
}
export class CaseLookupError extends SoftprobeError {
  matches: CaseMatchSummary[];
  predicate?: CasePredicate;
}
export class CaseLoadError extends SoftprobeError {
  path?: string;
}
export class InvalidRuleError extends SoftprobeError {
  ruleIndex?: number;
  field?: string;
}
export class StrictMissError extends SoftprobeError {
  misses: StrictMiss[];
}

/** The session active for the calling code (run() context, else process-wide), or null. */
export function currentSession(): SoftprobeSession | null;
/** Runs fn with no active session: its requests go straight to the network. */
export function withoutInterception<R>(fn: () => R): R;
/** Re-installs the interceptors (after uninstall(), or after setGlobalDispatcher()). */
export function install(): void;
/** Restores http/https request/get, global fetch and the undici global dispatcher. */
export function uninstall(): void;
export function isInstalled(): boolean;
/** The core's version, e.g. "0.1.0". */
export const version: string;
/** "http-control-api@v1" */
export const specVersion: string;
/** The request fingerprint as the core computes it (16 hex digits). */
export function requestFingerprint(method: string, host: string, path: string, body?: string | Uint8Array): string;
/** The core's JSON-lines log level. */
export function setLogLevel(level: 'debug' | 'info' | 'warn' | 'error' | 'off'): void;
