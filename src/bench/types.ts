// Owns the shapes every benchmark shares: a metric row, a benchmark's spec (typed options with defaults and help),
// for one server or for a cluster the runner starts.
import type { Cluster } from "../testing/cluster_process.js";

/** One measured figure; `better` says which direction is good, for reading the ratio column. */
export interface Metric {
  name: string;
  value: number;
  unit: string;
  better?: "higher" | "lower";
  /** Printed under the table, e.g. the first error seen. */
  note?: string;
}

export type OptionValue = number | string | boolean;

/** A benchmark: its options are the keys of `defaults` (camelCase here, --kebab-case on the command line). */
export interface BenchSpec<O extends Record<string, OptionValue>> {
  name: string;
  description: string;
  defaults: O;
  help: { [K in keyof O]: string };
  /** Runs the load against one server and returns its figures. Must finish in bounded time. */
  run(endpoint: string, opts: O, log: (msg: string) => void): Promise<Metric[]>;
}

/** A benchmark of a cluster: the runner starts `members` members of each target server and hands them over. */
export interface ClusterBenchSpec<O extends Record<string, OptionValue>> {
  name: string;
  description: string;
  defaults: O;
  help: { [K in keyof O]: string };
  members: 3 | 5;
  /** Runs the load against a fresh, ready cluster and returns its figures; must finish in bounded time. */
  runCluster(cluster: Cluster, opts: O, log: (msg: string) => void): Promise<Metric[]>;
  /**
   * Load run before the measured part (not counted in any figure, CPU and wall time included), so a JIT-compiled
   * server is measured in its steady state; every target gets the same.
   */
  warmCluster?(cluster: Cluster, opts: O, log: (msg: string) => void): Promise<void>;
}

export type AnyBenchSpec<O extends Record<string, OptionValue>> = BenchSpec<O> | ClusterBenchSpec<O>;

export const isClusterBench = <O extends Record<string, OptionValue>>(
  spec: AnyBenchSpec<O>,
): spec is ClusterBenchSpec<O> => "runCluster" in spec;
