/**
 * The Mixer of bench/agent, in its own process: the real Mixer (mixer/testing) with the deny,
 * whitelist, rate limit and telemetry rules of mixer/examples, on loopback. Prints its address on stdout and
 * runs until killed.
 */
import { startTestMixer } from '../../mixer/testing/server.ts';

const mixer = await startTestMixer();
process.stdout.write(`${JSON.stringify({ address: mixer.address })}\n`);
process.on('SIGTERM', () => {
  void mixer.close().then(() => process.exit(0));
});
