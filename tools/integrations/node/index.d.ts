export class ReplayError extends Error {}

export interface ReplayOptions {
  clock?: "virtual" | "max-speed" | "realtime";
  speed?: number;
  faults?: string[];
  requireToken?: string;
  args?: string[];
  binary?: string;
}

export class Replay {
  readonly port: number;
  readonly url: string;
  readonly httpUrl: string;
  readonly pid: number;
  control(path: string, query?: Record<string, string | number>, options?: { post?: boolean }): Promise<any>;
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
  output(): string;
  stop(): Promise<any>;
}

export function startReplay(tape: string, options?: ReplayOptions): Promise<Replay>;
export function withReplay<T>(tape: string, options: ReplayOptions, fn: (replay: Replay) => Promise<T>): Promise<T>;
