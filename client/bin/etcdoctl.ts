#!/usr/bin/env node
// etcdoctl: etcdctl's v3 command line for etcd and etcdo over the JSON gateway.
// Runs directly with Node 22's type stripping: node client/bin/etcdoctl.ts get foo

import { run } from "../cli/main.ts";
import { nodeIo } from "../cli/node-io.ts";

// Exits at once, as etcdctl does: `watch -i` may end (a command failed) with stdin still being
// read and other watches open. Writes to pipes, files and terminals are synchronous on POSIX.
process.exit(await run(process.argv.slice(2), nodeIo()));
