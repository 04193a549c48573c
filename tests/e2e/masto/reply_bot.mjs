// A small reply bot, as a bot author would write it with masto.js 7.12.0 (npm): it learns who it
// is, reads its user stream over WebSocket, and replies to every mention, once. masto.js
// reconnects by itself and says nothing of it, so the bot watches its sockets open (masto.js takes
// the WebSocket class to use) and, on a connection after the first, catches up from
// GET /api/v1/notifications (since the last one it saw) at the first event, once the stream is
// back. It stops when the server is gone (masto.js gives up after 3 attempts).
//
// Usage: node reply_bot.mjs BASE_URL TOKEN [--ignore-backfill]
// --ignore-backfill plants a bug: mentions that arrive by the catch-up are not answered.
import { createRestAPIClient, createStreamingAPIClient } from "masto";
import WebSocket from "ws";

const [base, token, ...flags] = process.argv.slice(2);
const ignoreBackfill = flags.includes("--ignore-backfill");

let opened = 0;
class CountedWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    this.on("open", () => opened++);
  }
}

const rest = createRestAPIClient({ url: base, accessToken: token });
const streaming = createStreamingAPIClient({
  streamingApiUrl: base.replace(/^http/, "ws"),
  accessToken: token,
  implementation: CountedWebSocket,
  retry: 3,
});

const me = await rest.v1.accounts.verifyCredentials();
const answered = new Set();
let lastSeen;

const newer = (a, b) => b === undefined || BigInt(a) > BigInt(b);

async function reply(notification) {
  if (newer(notification.id, lastSeen)) {
    lastSeen = notification.id;
  }
  if (notification.type !== "mention" || answered.has(notification.status.id)) {
    return;
  }
  answered.add(notification.status.id);
  await rest.v1.statuses.create(
    {
      status: `@${notification.account.acct} thanks!`,
      inReplyToId: notification.status.id,
      visibility: "unlisted",
    },
    { requestInit: { headers: { "Idempotency-Key": `reply-${notification.id}` } } },
  );
}

// What came while the stream was down: the notifications since the last one seen.
async function catchUp() {
  const missed = await rest.v1.notifications.list({ sinceId: lastSeen });
  for (const n of missed.reverse()) {
    if (!ignoreBackfill) {
      await reply(n);
    }
  }
}

let caughtUpFor = 1;  // the connection whose catch-up is done: the first needs none
try {
  for await (const event of streaming.user.subscribe()) {
    if (event.event !== "notification") {
      continue;
    }
    if (opened > caughtUpFor && lastSeen !== undefined) {
      caughtUpFor = opened;
      await catchUp();
    }
    await reply(event.payload);
  }
} catch (e) {
  // The server is gone: masto.js gave up reconnecting.
}
streaming.close();
console.log(`answered ${answered.size} mentions as ${me.acct}`);
