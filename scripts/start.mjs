// npm start: a local etcdo cluster serving etcd's v3 JSON API on http://127.0.0.1:2379,
// persisting member storage under .etcdo/ (override with ETCDO_DATA_DIR, ETCDO_PORT,
// ETCDO_HOST, ETCDO_MEMBERS=m1,m2,m3).
import { startLocalCluster } from "./lib/local-cluster.mjs";

const port = Number(process.env.ETCDO_PORT ?? 2379);
const host = process.env.ETCDO_HOST ?? "127.0.0.1";
const persistDir = process.env.ETCDO_DATA_DIR ?? ".etcdo";
const members = process.env.ETCDO_MEMBERS?.split(",").filter(Boolean);

const cluster = await startLocalCluster({ port, host, persistDir, members, verbose: !!process.env.ETCDO_VERBOSE });
console.log(`etcdo listening on ${cluster.url} (data in ${persistDir}/)`);
const stop = async () => {
  await cluster.dispose();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
