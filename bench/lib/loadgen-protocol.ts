/** Messages between bench/run.ts and the load generator process (bench/loadgen.ts), over IPC. */

/** One simulated meter as enrolled: hex secrets, handed to the load generator only. */
export type FleetMeter = { id: string; systemTitle: string; identityKey: string; kek: string };

export type LoadgenCommand =
  | { type: "init"; url: string; region: string; pool: FleetMeter[]; probes: FleetMeter[]; rekeyProbes: FleetMeter[]; cost: FleetMeter }
  /** The rekey probes (members of `program`) take a signed snapshot of their path at its current epoch. */
  | { type: "rekeyPrepare"; program: string }
  /** Handshakes back to back by `concurrency` meters; keys fetches by the probes meanwhile, and rekey fetches once prepared. */
  | { type: "throughput"; concurrency: number; warmupMs: number; windowMs: number; probeIntervalMs: number }
  /** GET /health back to back by `concurrency` clients: the HTTP floor of this wrangler dev. */
  | { type: "health"; concurrency: number; warmupMs: number; windowMs: number }
  /** The limit worker's Concentrator replica through HTTP (two POSTs per handshake, no client crypto). */
  | { type: "replica"; url: string; concurrency: number; warmupMs: number; windowMs: number }
  /** Sequential handshakes by one meter; the client-side share of each is timed. */
  | { type: "meterCost"; handshakes: number; warmup: number }
  | { type: "exit" };

export type ThroughputResult = {
  type: "throughput";
  concurrency: number;
  windowMs: number;
  /** Handshakes that completed inside the window. */
  completed: number;
  /** connect() durations of the handshakes completed inside the window, ms (the warm-up ran at the same N). */
  handshakeMs: number[];
  /** keys op round trips by the probes inside the window, ms. */
  keysMs: number[];
  /** rekey op round trips one epoch behind (request + applying the view) by the rekey probes inside the window, ms. */
  rekeyMs: number[];
  errors: Record<string, number>;
  /** This process's CPU time over the window, seconds, and its event-loop utilization (0..1). */
  cpuSeconds: number;
  eventLoopUtilization: number;
};

export type HealthResult = { type: "health" | "replica"; concurrency: number; windowMs: number; completed: number; errors: number };

export type MeterCostResult = {
  type: "meterCost";
  /** Per handshake: connect() time minus the time spent waiting on fetch (request + response body), ms. */
  clientMs: number[];
  /** Per handshake: the whole connect(), ms. */
  totalMs: number[];
  /** Process CPU (user + system) per handshake, ms: the SDK plus Node's HTTP client. */
  processCpuMs: number;
  /** One P-256 ECDH with the SDK's EDHOC provider (noble), ms: a handshake makes three. */
  ecdhMs: number;
};

export type LoadgenReply = { type: "ready"; anchorKid: string } | { type: "rekeyReady"; epochs: number[]; leaves: number[] } | ThroughputResult | HealthResult | MeterCostResult | { type: "error"; message: string };
