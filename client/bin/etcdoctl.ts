#!/usr/bin/env node
// etcdoctl: etcdctl's v3 command line for etcd and etcdo over the JSON gateway.
// Runs directly with Node 22's type stripping: node client/bin/etcdoctl.ts get foo

import { run } from "../cli/main.ts";
import { nodeIo } from "../cli/node-io.ts";

process.exitCode = await run(process.argv.slice(2), nodeIo());
