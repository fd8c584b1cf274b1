// @slack/bolt on Socket Mode against fakeslack: a message listener that replies with
// chat.postMessage in the thread, an app_mention listener, a slash command answered in its ack,
// and a button (block_actions) acked. Each handled request is reported; "stop" stops the app.
'use strict';
const { App, LogLevel } = require('@slack/bolt');
const { out, env, commands, logger } = require('./lib');

const slackApiUrl = env('SLACK_API_URL');
const app = new App({
  token: env('SLACK_BOT_TOKEN'),
  appToken: env('SLACK_APP_TOKEN'),
  socketMode: true,
  logger,
  logLevel: LogLevel.DEBUG,
  clientOptions: { slackApiUrl }, // the WebClient of listeners, and (through installerOptions) apps.connections.open
});

app.message(/^hello/, async ({ message, say }) => {
  out({ ev: 'message', text: message.text, ts: message.ts });
  const r = await say({ text: `hi <@${message.user}>`, thread_ts: message.ts });
  out({ ev: 'replied', ok: r.ok, ts: r.ts, to: message.ts });
});
app.event('app_mention', async ({ event }) => {
  out({ ev: 'app_mention', text: event.text });
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
  out({ ev: 'fatal', error: `bolt error: ${err && err.stack ? err.stack : err}` });
});

commands(async (cmd) => {
  if (cmd.cmd === 'stop') {
    await app.stop();
    out({ ev: 'stopped' });
    process.exit(0);
  }
});

(async () => {
  await app.start();
  out({ ev: 'started' });
})();
