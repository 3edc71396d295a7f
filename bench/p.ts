import { makeBody, percentile, runLoad } from './smtp-load.js';
const r = await runLoad(2626, { clients: 20, total: 4000, body: makeBody(2048), reuse: false });
console.log((r.messages / r.seconds).toFixed(0), 'msg/s', percentile(r.latencies, 50).toFixed(1));
const r2 = await runLoad(2626, { clients: 20, total: 4000, body: makeBody(2048), reuse: true });
console.log((r2.messages / r2.seconds).toFixed(0), 'msg/s reuse', percentile(r2.latencies, 50).toFixed(1));
