// @slack/web-api against fakeslack: every method fakeslack serves, with each token kind, their
// errors and a 429. Each call is reported as {ev:"call", name, ok, result | error}; the Go test
// checks them.
'use strict';
const { WebClient, LogLevel, ErrorCode } = require('@slack/web-api');
const { out, env, logger } = require('./lib');

const slackApiUrl = env('SLACK_API_URL');
const opts = { slackApiUrl, logger, logLevel: LogLevel.DEBUG, retryConfig: { retries: 0 } };
const bot = new WebClient(env('SLACK_BOT_TOKEN'), opts);
const classic = new WebClient(env('SLACK_CLASSIC_TOKEN'), opts);
const user = new WebClient(env('SLACK_USER_TOKEN'), opts);
const app = new WebClient(env('SLACK_APP_TOKEN'), opts);
const nobody = new WebClient('xoxb-0-0-unknown', opts);
const channel = env('SLACK_CHANNEL');
const userID = env('SLACK_USER');

// call runs one API call and reports its outcome.
async function call(name, fn) {
  try {
    const result = await fn();
    out({ ev: 'call', name, ok: true, result });
    return result;
  } catch (err) {
    out({
      ev: 'call',
      name,
      ok: false,
      error: {
        code: err.code,
        error: err.data ? err.data.error : undefined,
        retryAfter: err.retryAfter,
        data: err.data,
        message: String(err),
      },
    });
    return undefined;
  }
}

(async () => {
  await call('auth.test bot', () => bot.auth.test());
  await call('auth.test classic', () => classic.auth.test());
  await call('auth.test user', () => user.auth.test());
  await call('auth.test app', () => app.auth.test());
  await call('auth.test unknown token', () => nobody.auth.test());

  await call('chat.postMessage text', () => bot.chat.postMessage({ channel, text: 'hello from web-api' }));
  const parent = await call('chat.postMessage blocks', () =>
    bot.chat.postMessage({
      channel,
      text: 'fallback',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*bold*' } }],
    }),
  );
  if (parent) {
    await call('chat.postMessage thread', () =>
      bot.chat.postMessage({ channel, text: 'in thread', thread_ts: parent.ts }),
    );
  }
  await call('chat.postMessage unknown channel', () => bot.chat.postMessage({ channel: 'C0NOSUCH', text: 'x' }));
  await call('chat.postMessage no text', () => bot.chat.postMessage({ channel }));
  await call('chat.postMessage missing scope', () => user.chat.postMessage({ channel, text: 'x' }));

  await call('conversations.list page 1', () => bot.conversations.list({ limit: 1 }));
  const all = [];
  for await (const page of bot.paginate('conversations.list', { limit: 1 })) {
    for (const c of page.channels) all.push(c.id);
  }
  out({ ev: 'paginated', ids: all });

  await call('users.info', () => bot.users.info({ user: userID }));
  await call('users.info unknown', () => bot.users.info({ user: 'U0NOSUCH' }));

  await call('rtm.connect classic', () => classic.rtm.connect());
  // web-api 8 has no rtm.start helper any more; the generic apiCall still reaches it.
  await call('rtm.start classic', () => classic.apiCall('rtm.start'));
  await call('rtm.connect granular', () => bot.rtm.connect());

  await call('apps.connections.open', () => app.apps.connections.open());
  await call('apps.connections.open bot token', () => bot.apps.connections.open());

  // 429: users.info allows one call in a burst here. Refused at once with rejectRateLimitedCalls,
  // retried after Retry-After without it.
  const strict = new WebClient(env('SLACK_BOT_TOKEN'), { ...opts, rejectRateLimitedCalls: true });
  await call('ratelimited rejected', () => strict.users.info({ user: userID }));
  const patient = new WebClient(env('SLACK_BOT_TOKEN'), { ...opts, retryConfig: { retries: 1, factor: 1, minTimeout: 0, maxTimeout: 0 } });
  const started = Date.now();
  await call('ratelimited retried', () => patient.users.info({ user: userID }));
  out({ ev: 'retried_after_ms', ms: Date.now() - started });

  out({ ev: 'done', ErrorCode });
  process.exit(0);
})();
