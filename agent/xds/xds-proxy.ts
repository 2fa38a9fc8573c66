/**
 * The agent's ADS proxy: Envoy's ADS stream (on the XDS Unix socket) is forwarded byte for byte
 * to Pilot on a stream of its own, one upstream stream per downstream stream, so the agent sees
 * every response and every ACK or NACK (AckTracker) without changing what either side sends.
 * When Pilot's stream ends or fails, Envoy's stream ends with the same status and Envoy
 * reconnects with its own backoff; when Envoy goes away, the upstream stream is cancelled.
 */
import * as grpc from '@grpc/grpc-js';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { Counter, Gauge, type Registry } from '../../lib/metrics.ts';
import { XdsTypeShort, isXdsType } from '../../lib/xds/type-urls.ts';
import { AdsService } from '../grpc/raw-service.ts';
import { peekRequest, peekResponse } from '../wire/discovery.ts';
import type { AckTracker } from './ack-tracker.ts';

export interface XdsProxyOptions {
  /** Pilot's ADS address, host:port. */
  readonly upstream: string;
  readonly tracker: AckTracker;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly channelOptions?: grpc.ChannelOptions;
}

const AdsMethod = AdsService['StreamAggregatedResources'];

function typeLabel(typeUrl: string): string {
  return isXdsType(typeUrl) ? XdsTypeShort[typeUrl] : typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}

export class XdsProxy {
  private readonly o: XdsProxyOptions;
  private readonly client: grpc.Client;
  private readonly open = new Set<() => void>();
  private ids = 0;
  private readonly acks: Counter;
  private readonly nacks: Counter;
  private readonly responses: Counter;
  private readonly streams: Gauge;

  constructor(o: XdsProxyOptions) {
    this.o = o;
    this.client = new grpc.Client(o.upstream, grpc.credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      // Pilot back after an outage must be found in seconds, not after grpc-js's 120 s cap.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5000,
      ...o.channelOptions,
    });
    const registers = [o.metrics];
    this.acks = new Counter({
      name: 'istio_agent_xds_acks_total',
      help: 'xDS responses the proxy ACKed',
      labelNames: ['type'],
      registers,
    });
    this.nacks = new Counter({
      name: 'istio_agent_xds_nacks_total',
      help: 'xDS responses the proxy rejected',
      labelNames: ['type'],
      registers,
    });
    this.responses = new Counter({
      name: 'istio_agent_xds_responses_total',
      help: 'xDS responses forwarded from Pilot',
      labelNames: ['type'],
      registers,
    });
    this.streams = new Gauge({
      name: 'istio_agent_xds_streams',
      help: 'open ADS streams through the agent',
      registers,
    });
  }

  handlers(): grpc.UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Uint8Array>) => {
        this.proxy(call);
      },
    };
  }

  private proxy(down: grpc.ServerDuplexStream<Buffer, Uint8Array>): void {
    if (AdsMethod === undefined) throw new Error('ADS method missing');
    const id = ++this.ids;
    const log = this.o.logger.child({ stream: id });
    const up = this.client.makeBidiStreamRequest(
      AdsMethod.path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      new grpc.Metadata(),
      {},
    );
    this.o.tracker.streamReset();
    let finished = false;
    const finish = (why: string) => {
      if (finished) return;
      finished = true;
      this.open.delete(close);
      this.streams.set(this.open.size);
      log.info({ why }, 'ADS stream closed');
    };
    const close = () => {
      up.cancel();
      down.end();
      finish('agent shutting down');
    };
    this.open.add(close);
    this.streams.set(this.open.size);

    down.on('data', (b: Buffer) => {
      try {
        const q = peekRequest(b);
        if (q.nodeId !== undefined) log.info({ node: q.nodeId }, 'ADS stream from the proxy');
        const kind = this.o.tracker.onRequest(q);
        if (kind === 'ack') this.acks.inc({ type: typeLabel(q.typeUrl) });
        if (kind === 'nack') {
          this.nacks.inc({ type: typeLabel(q.typeUrl) });
          log.warn(
            { type: q.typeUrl, error: q.errorDetail?.message },
            'proxy rejected config from Pilot',
          );
        }
      } catch (e) {
        log.warn({ error: errorMessage(e) }, 'could not read a request; forwarding it anyway');
      }
      up.write(b);
    });
    down.on('end', () => {
      up.end();
    });
    const downGone = () => {
      up.cancel();
      finish('proxy went away');
    };
    down.on('cancelled', downGone);
    down.on('error', downGone);

    up.on('data', (b: Buffer) => {
      try {
        const r = peekResponse(b);
        this.o.tracker.onResponse(r);
        this.responses.inc({ type: typeLabel(r.typeUrl) });
      } catch (e) {
        log.warn({ error: errorMessage(e) }, 'could not read a response; forwarding it anyway');
      }
      down.write(b);
    });
    up.on('error', (e: grpc.ServiceError) => {
      if (finished) return;
      log.warn({ code: e.code, error: e.details }, 'Pilot stream failed; ending the proxy stream');
      down.emit('error', {
        code: e.code,
        details: `upstream Pilot ${this.o.upstream}: ${e.details}`,
      });
      finish('Pilot stream failed');
    });
    up.on('end', () => {
      down.end();
      finish('Pilot ended the stream');
    });
  }

  /** Ends every stream and the channel to Pilot. */
  close(): void {
    for (const c of [...this.open]) c();
    this.client.close();
  }
}
