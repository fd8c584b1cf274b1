// @slack/rtm-api against fakeslack: connect with rtm.connect, report each message event, send
// messages on "send" (reporting Slack's reply), reconnect after drops and goodbye, stop on "stop".
'use strict';
const { RTMClient, LogLevel } = require('@slack/rtm-api');
const { out, env, commands, logger } = require('./lib');

const rtm = new RTMClient(env('SLACK_TOKEN'), {
  slackApiUrl: env('SLACK_API_URL'),
  logger,
  logLevel: LogLevel.DEBUG,
  replyAckOnReconnectTimeout: 100,
  clientPingTimeout: 2000,
  serverPongTimeout: 1000,
});

let readies = 0;
rtm.on('ready', () => out({ ev: 'ready', n: ++readies, self: rtm.activeUserId, team: rtm.activeTeamId }));
rtm.on('disconnected', () => out({ ev: 'disconnected' }));
rtm.on('reconnecting', () => out({ ev: 'reconnecting' }));
rtm.on('goodbye', () => out({ ev: 'goodbye' }));
rtm.on('message', (m) => out({ ev: 'message', text: m.text, channel: m.channel, ts: m.ts, user: m.user }));
rtm.on('user_typing', (e) => out({ ev: 'user_typing', channel: e.channel, user: e.user }));

// fillReplyHoles works around a bug of @slack/rtm-api 7.0.4: it keeps the replies it awaits in an
// array indexed by message id, and on every reconnect or disconnect iterates it calling cancel(),
// crashing on the holes ("Cannot read properties of undefined (reading 'cancel')"). That happens
// against real Slack too; it is not a protocol difference.
function fillReplyHoles() {
  const list = rtm.awaitingReplyList;
  for (let i = 0; Array.isArray(list) && i < list.length; i++) {
    if (list[i] === undefined) list[i] = { cancel() {} };
  }
}

commands(async (cmd) => {
  switch (cmd.cmd) {
    case 'send': {
      try {
        const pending = rtm.sendMessage(cmd.text, cmd.channel);
        setImmediate(fillReplyHoles);
        const reply = await pending;
        fillReplyHoles();
        out({ ev: 'sent', ok: reply.ok, ts: reply.ts, text: reply.text, reply_to: reply.reply_to });
      } catch (err) {
        fillReplyHoles();
        out({ ev: 'send_failed', code: err.code, error: err.data && err.data.error ? err.data.error : undefined, message: String(err) });
      }
      break;
    }
    case 'typing':
      await rtm.sendTyping(cmd.channel);
      out({ ev: 'typed' });
      break;
    case 'stop':
      fillReplyHoles();
      await rtm.disconnect();
      out({ ev: 'stopped' });
      process.exit(0);
  }
});

rtm.start().catch((err) => {
  out({ ev: 'fatal', error: `start: ${err}` });
  process.exit(1);
});
