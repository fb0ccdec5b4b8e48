// index.d.ts: the client's own declarations (written by hand); the methods
// and events come from api.d.ts, generated from imgwd's rpc.describe.
import type { Api, CallOptions, ErrorCode, ImgwEvent, MethodArgs, MethodName } from './api.js';

export * from './api.js';

/** The daemon answered with an error; code is its stable name (RPC.md). */
export declare class ImgwError extends Error {
  constructor(code: string, message: string, method?: string | null);
  /** An ErrorCode from the daemon, 'io' for a lost connection, 'timeout'. */
  code: ErrorCode | 'io' | 'timeout' | string;
  /** The method called, when known. */
  method: string | null;
}

/** The connection is gone (code 'io'). */
export declare class ConnectionClosed extends ImgwError {
  constructor(message?: string);
}

/** The socket imgwd listens on, found as imgw(1) finds it. */
export declare function socketPath(account?: string | null): string;

export interface ConnectOptions {
  /** The socket; default: the one of account, else the default one. */
  path?: string;
  /** The account of imgwd --account NAME. */
  account?: string;
  /** Milliseconds to wait for connecting and for each answer (10000). */
  timeout?: number;
  /** Sent with client.hello; client.list shows it. */
  name?: string | null;
  /** Events queued before the socket is no longer read (10000). */
  maxEvents?: number;
}

export interface ListenOptions {
  /** Replay the events logged after this seq first. */
  since?: number;
  /** Event type prefixes ("message" matches message.new). */
  topics?: string[];
  /** End after this many ms without an event (0: never). */
  timeout?: number;
}

/** One method as rpc.describe describes it. */
export interface MethodDescription {
  name: string;
  params: { name: string; type: string; required: boolean; oneOf?: string }[];
  summary: string;
}

export interface Description {
  version: string;
  methods: MethodDescription[];
  events: { type: string; fields: string }[];
  errors: string[];
}

/** A connection to imgwd; every method is also a property (Api). */
export declare class Client {
  constructor(path: string, options?: { timeout?: number; name?: string | null; maxEvents?: number });
  readonly path: string;
  timeout: number;
  name: string | null;
  /** How many times listen() connected again. */
  reconnects: number;
  /** How many "lagged" events listen() resumed after. */
  lagged: number;
  /** rpc.describe's methods by name. */
  methods: Record<string, MethodDescription>;
  /** null while connected, else why the connection is gone. */
  readonly closed: ConnectionClosed | null;
  call<M extends MethodName>(method: M, args?: MethodArgs[M], options?: CallOptions): Promise<any>;
  call(method: string, args?: Record<string, unknown>, options?: CallOptions): Promise<any>;
  describe(): Promise<Description>;
  subscribe(options?: { since?: number; topics?: string[] }): Promise<number>;
  listen(options?: ListenOptions): AsyncGenerator<ImgwEvent, void, undefined> & {
    /** The newest seq when it subscribed. */
    head: Promise<number>;
  };
  close(): void;
}
export interface Client extends Api {}

/** Connect to imgwd and fetch rpc.describe. */
export declare function connect(options?: ConnectOptions): Promise<Client>;

declare const imgw: {
  connect: typeof connect;
  Client: typeof Client;
  ImgwError: typeof ImgwError;
  ConnectionClosed: typeof ConnectionClosed;
  socketPath: typeof socketPath;
};
export default imgw;
