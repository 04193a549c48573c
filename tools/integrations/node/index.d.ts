export class ReplayError extends Error {}

export interface ReplayOptions {
  clock?: "virtual" | "max-speed" | "realtime";
  speed?: number;
  faults?: string[];
  requireToken?: string;
  stubs?: string;
  expect?: string;
  args?: string[];
  binary?: string;
}

export interface JournalEntry {
  client: string;
  at_s: number;
  position_s: number | null;
  method: string;
  path: string;
  query: string;
  body: string;
  status: number;
  matched: boolean;
  stub: string | null;
}

export interface ExpectationResult {
  name: string;
  expectation: string;
  met: boolean;
  checked: number;
  unmet: string[];
}

export class Replay {
  readonly port: number;
  readonly url: string;
  readonly httpUrl: string;
  readonly pid: number;
  control(path: string, query?: Record<string, string | number>, options?: { post?: boolean; body?: string }): Promise<any>;
  advance(ms: number): Promise<number>;
  runTo(to: { seq: number } | { next: "frame" | "heartbeat" | "gap" }): Promise<number>;
  pause(): Promise<{ paused: boolean }>;
  resume(): Promise<{ paused: boolean }>;
  addFault(spec: string): Promise<{ faults: string[]; refuse_remaining: number; rest_errors_remaining: number }>;
  clearFaults(): Promise<{ faults: string[]; refuse_remaining: number; rest_errors_remaining: number }>;
  reset(client?: string): Promise<{ reset: number }>;
  status(): Promise<any>;
  waitForClient(options?: { clients?: number; timeout?: number }): Promise<any>;
  report(): Promise<any>;
  requests(): Promise<JournalEntry[]>;
  expect(...expectations: object[]): Promise<{ expectations: number }>;
  expectations(): Promise<ExpectationResult[]>;
  setStubs(stubs: object[]): Promise<any>;
  output(): string;
  stop(): Promise<any>;
}

export function startReplay(tape: string, options?: ReplayOptions): Promise<Replay>;
export function withReplay<T>(tape: string, options: ReplayOptions, fn: (replay: Replay) => Promise<T>): Promise<T>;
