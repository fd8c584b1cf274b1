// @slack/socket-mode against fakeslack: connect, report each envelope, ack it (with the payload
// the envelope asks for), reconnect after drops and refresh_requested, disconnect on "stop".
'use strict';
const { SocketModeClient, LogLevel } = require('@slack/socket-mode');
const { out, env, commands, logger } = require('./lib');

const client = new SocketModeClient({
  appToken: env('SLACK_APP_TOKEN'),
  clientOptions: { slackApiUrl: env('SLACK_API_URL') },
  logger,
  logLevel: LogLevel.DEBUG,
  clientPingTimeout: 1000, // also the reconnect delay: keep the test short
});

let connects = 0;
client.on('connected', () => out({ ev: 'connected', n: ++connects }));
client.on('disconnected', () => out({ ev: 'disconnected' }));
client.on('reconnecting', () => out({ ev: 'reconnecting' }));
client.on('slack_event', async ({ ack, envelope_id, type, body, retry_num }) => {
  const event = body && body.event ? body.event : undefined;
  out({
    ev: 'envelope',
    type,
    envelope_id,
    event_type: event ? event.type : undefined,
    text: event ? event.text : undefined,
    command: body ? body.command : undefined,
    retry_num,
  });
  if (type === 'slash_commands') {
    await ack({ text: `ran ${body.command} ${body.text}` });
  } else {
    await ack();
  }
  out({ ev: 'acked', envelope_id });
});

commands(async (cmd) => {
  if (cmd.cmd === 'stop') {
    await client.disconnect();
    out({ ev: 'stopped' });
    process.exit(0);
  }
});

client.start().catch((err) => {
  out({ ev: 'fatal', error: `start: ${err}` });
  process.exit(1);
});
