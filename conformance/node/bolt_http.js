// @slack/bolt on its HTTP receiver against fakeslack's signed HTTP delivery: Bolt verifies each
// request with the signing secret, answers url_verification, and runs a message listener that
// replies with chat.postMessage in the thread, a slash command answered in the HTTP answer's
// body, and a button acked. Each handled request is reported; "stop" stops the app.
'use strict';
const { App, LogLevel } = require('@slack/bolt');
const { out, env, commands, logger } = require('./lib');

const port = Number(env('PORT'));
const app = new App({
  token: env('SLACK_BOT_TOKEN'),
  signingSecret: env('SLACK_SIGNING_SECRET'),
  logger,
  logLevel: LogLevel.DEBUG,
  clientOptions: { slackApiUrl: env('SLACK_API_URL') },
});

app.message(/^hello/, async ({ message, say }) => {
  out({ ev: 'message', text: message.text, ts: message.ts });
  const r = await say({ text: `hi <@${message.user}>`, thread_ts: message.ts });
  out({ ev: 'replied', ok: r.ok, ts: r.ts, to: message.ts });
});
app.command('/deploy', async ({ command, ack }) => {
  await ack({ response_type: 'in_channel', text: `deploying ${command.text}` });
  out({ ev: 'command', text: command.text });
});
app.action('approve', async ({ action, ack }) => {
  await ack();
  out({ ev: 'action', action_id: action.action_id, value: action.value });
});
app.error(async (err) => {
  out({ ev: 'error', error: String(err && err.message ? err.message : err) });
});

commands(async (cmd) => {
  if (cmd.cmd === 'stop') {
    await app.stop();
    out({ ev: 'stopped' });
    process.exit(0);
  }
});

(async () => {
  await app.start(port);
  out({ ev: 'started', port });
})();
