// Prometheus metrics for the layer-2 announcer (prom-client), read from its counters at scrape
// time. Series of withdrawn IPs disappear with the IP.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Announcer } from './announcer.js';

/**
 * What the metrics read: an Announcer, or a copy of its figures taken elsewhere (the speaker's network
 * thread sends them over). `refresh`, when given, is awaited before each scrape reads the figures.
 */
export type AnnouncerMetricsSource = Pick<Announcer, 'stats' | 'announced' | 'interfaces'> & { refresh?(): Promise<void> };

export function registerAnnouncerMetrics(announcer: AnnouncerMetricsSource, registry: Registry, prefix = 'l2lb_layer2_'): void {
  // Every collect awaits the refresh: prom-client collects all metrics at once, and a refresh in flight is shared.
  const fresh = async (): Promise<ReturnType<Announcer['stats']>> => {
    await announcer.refresh?.();
    return announcer.stats(); // cheap: a few sockets
  };
  type PerIpField = 'requestsReceived' | 'repliesSent' | 'gratuitousSent' | 'conflicts';
  const perIpNamed = (name: string, help: string, field: PerIpField): void => {
    new Counter({
      name,
      help,
      labelNames: ['ip'],
      registers: [registry],
      async collect() {
        const stats = await fresh();
        this.reset();
        for (const [ip, c] of Object.entries(stats.ips)) this.inc({ ip }, c[field]);
      },
    });
  };
  const perIp = (name: string, help: string, field: PerIpField): void => perIpNamed(`${prefix}${name}`, help, field);
  perIp('requests_received_total', 'ARP requests and neighbor solicitations received for an announced IP', 'requestsReceived');
  perIp('responses_sent_total', 'ARP replies and neighbor advertisements sent for an announced IP', 'repliesSent');
  perIp('gratuitous_sent_total', 'Gratuitous ARP and unsolicited neighbor advertisements sent', 'gratuitousSent');
  perIp('conflicts_total', 'Frames from another MAC claiming an announced IP', 'conflicts');
  // MetalLB's names and label (internal/layer2/stats.go: Go counters, no _total suffix), so its
  // PrometheusRules and dashboards work unchanged; same figures as the l2lb_ series above.
  perIpNamed('metallb_layer2_requests_received', 'MetalLB-compatible: Number of layer2 requests received for owned IPs', 'requestsReceived');
  perIpNamed('metallb_layer2_responses_sent', 'MetalLB-compatible: Number of layer2 responses sent for owned IPs in response to requests', 'repliesSent');
  perIpNamed(
    'metallb_layer2_gratuitous_sent',
    'MetalLB-compatible: Number of gratuitous layer2 packets sent for owned IPs as a result of failovers',
    'gratuitousSent',
  );
  new Counter({
    name: `${prefix}dropped_frames_total`,
    help: 'Received frames not answered, by reason',
    labelNames: ['reason'],
    registers: [registry],
    async collect() {
      const stats = await fresh();
      this.reset();
      for (const [reason, n] of Object.entries(stats.drops)) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: `${prefix}socket_drops_total`,
    help: 'Frames the kernel dropped before the announcer read them (PACKET_STATISTICS)',
    labelNames: ['interface', 'socket'],
    registers: [registry],
    async collect() {
      const stats = await fresh();
      this.reset();
      for (const [ifname, s] of Object.entries(stats.interfaces)) {
        this.inc({ interface: ifname, socket: 'arp' }, s.arp.drops);
        this.inc({ interface: ifname, socket: 'ndp' }, s.ndp.drops);
      }
    },
  });
  new Gauge({
    name: `${prefix}announced_ips`,
    help: 'IPs this node currently announces',
    registers: [registry],
    async collect() {
      await fresh();
      this.set(announcer.announced().length);
    },
  });
  new Gauge({
    name: `${prefix}interfaces`,
    help: 'Interfaces the announcer currently answers on',
    registers: [registry],
    async collect() {
      await fresh();
      this.set(announcer.interfaces().length);
    },
  });
}
