// A masto.js client that reads the user stream until it has N events (or the stream is quiet for
// QUIET ms), then leaves. Prints one JSON line: the events' ids in order.
// Usage: node count_events.mjs STREAMING_URL N QUIET_MS [STREAM]
import { createStreamingAPIClient } from "masto";

const [url, want, quiet] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 15000)];
const stream = process.argv[5] ?? "user";
const masto = createStreamingAPIClient({ streamingApiUrl: url, accessToken: "matrix-token" });
const got = [];
const iterator = masto[stream].subscribe()[Symbol.asyncIterator]();
for (;;) {
  let timer;
  const next = await Promise.race([
    iterator.next(),
    new Promise((resolve) => (timer = setTimeout(() => resolve(null), quiet))),
  ]);
  clearTimeout(timer);
  if (next === null || next.done) break;
  got.push(`${next.value.event} ${next.value.payload?.id ?? next.value.payload}`);
  if (got.length >= want) break;
}
masto.close();
console.log(JSON.stringify(got));
process.exit(0);
