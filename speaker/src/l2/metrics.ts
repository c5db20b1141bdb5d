// Prometheus metrics for the layer-2 announcer (prom-client), read from its counters at scrape
// time. Series of withdrawn IPs disappear with the IP.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Announcer } from './announcer.js';

export function registerAnnouncerMetrics(announcer: Announcer, registry: Registry, prefix = 'l2lb_layer2_'): void {
  const fresh = (): ReturnType<Announcer['stats']> => announcer.stats(); // cheap: a few sockets
  type PerIpField = 'requestsReceived' | 'repliesSent' | 'gratuitousSent' | 'conflicts';
  const perIpNamed = (name: string, help: string, field: PerIpField): void => {
    new Counter({
      name,
      help,
      labelNames: ['ip'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [ip, c] of Object.entries(fresh().ips)) this.inc({ ip }, c[field]);
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
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(fresh().drops)) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: `${prefix}socket_drops_total`,
    help: 'Frames the kernel dropped before the announcer read them (PACKET_STATISTICS)',
    labelNames: ['interface', 'socket'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [ifname, s] of Object.entries(fresh().interfaces)) {
        this.inc({ interface: ifname, socket: 'arp' }, s.arp.drops);
        this.inc({ interface: ifname, socket: 'ndp' }, s.ndp.drops);
      }
    },
  });
  new Gauge({
    name: `${prefix}announced_ips`,
    help: 'IPs this node currently announces',
    registers: [registry],
    collect() {
      this.set(announcer.announced().length);
    },
  });
  new Gauge({
    name: `${prefix}interfaces`,
    help: 'Interfaces the announcer currently answers on',
    registers: [registry],
    collect() {
      this.set(announcer.interfaces().length);
    },
  });
}
