import type { Miniflare } from "miniflare";

export interface LocalClusterOptions {
  port?: number;
  host?: string;
  /** Directory for member storage; omitted keeps everything in memory. */
  persistDir?: string;
  members?: string[];
  vars?: Record<string, string>;
  environment?: string;
  outDir?: string;
  verbose?: boolean;
}

export interface LocalCluster {
  url: string;
  mf: Miniflare;
  dispose(): Promise<void>;
}

export function bundleWorker(outDir?: string): Promise<string>;
export function startLocalCluster(options?: LocalClusterOptions): Promise<LocalCluster>;
