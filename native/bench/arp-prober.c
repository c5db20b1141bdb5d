/* ARP prober for `npm run bench -- arp`.
 *   arp-prober latency IFNAME SRC_IP TARGET_IP COUNT INTERVAL_US [DEADLINE_MS [SECONDS]]
 *     one request at a time; t0 = CLOCK_REALTIME before send(), t1 = SO_TIMESTAMPNS of the reply;
 *     a reply later than DEADLINE_MS (default 50) counts as lost; stops after COUNT requests or
 *     SECONDS (default: no limit), whichever comes first ("sent" is the number actually sent).
 *     prints {"sent":..,"received":..,"samples_us":[..],"p50_us":..,"p99_us":..,"max_us":..}
 *   arp-prober flood IFNAME SRC_IP TARGET_IP RATE SECONDS
 *     paced requests at RATE/s, replies drained between sends (one thread).
 *     prints {"sent":..,"received":..,"seconds":..}
 *   arp-prober noise IFNAME DST_MAC RATE SECONDS
 *     IPv4 and IPv6 UDP frames (no ARP, no NDP) at RATE/s. prints {"sent":..}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int open_sock(const char *ifname, int proto, uint8_t mac[6], int *ifindex) {
  unsigned idx = if_nametoindex(ifname);
  if (idx == 0) {
    fprintf(stderr, "no interface %s\n", ifname);
    exit(2);
  }
  int fd = socket(AF_PACKET, SOCK_RAW, htons(proto));
  if (fd < 0) {
    perror("socket");
    exit(1);
  }
  int rcv = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    perror("SIOCGIFHWADDR");
    exit(1);
  }
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(proto);
  sll.sll_ifindex = (int)idx;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
    perror("bind");
    exit(1);
  }
  *ifindex = (int)idx;
  return fd;
}

static void build_request(uint8_t *f, const uint8_t mac[6], struct in_addr src, struct in_addr dst) {
  memset(f, 0xff, 6);
  memcpy(f + 6, mac, 6);
  f[12] = 0x08, f[13] = 0x06;
  f[14] = 0, f[15] = 1, f[16] = 0x08, f[17] = 0, f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;
  memcpy(f + 22, mac, 6);
  memcpy(f + 28, &src, 4);
  memset(f + 32, 0, 6);
  memcpy(f + 38, &dst, 4);
}

static int is_reply(const uint8_t *f, ssize_t n, struct in_addr target) {
  return n >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 && f[21] == 2 && memcmp(f + 28, &target, 4) == 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int latency(const char *ifname, struct in_addr src, struct in_addr dst, int count, int interval_us, int deadline_ms, double max_s) {
  uint8_t mac[6];
  int ifindex;
  int fd = open_sock(ifname, ETH_P_ARP, mac, &ifindex);
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  uint8_t req[42], buf[2048];
  build_request(req, mac, src, dst);
  double *rtt = calloc((size_t)count, sizeof(double));
  int got = 0, sent = 0;
  double end = max_s > 0 ? now_s() + max_s : 0;
  for (int i = 0; i < count && (end == 0 || now_s() < end); i++, sent++) {
    struct timespec t0;
    clock_gettime(CLOCK_REALTIME, &t0);
    if (send(fd, req, sizeof req, 0) < 0) perror("send");
    double deadline = now_s() + deadline_ms / 1000.0;
    for (;;) {
      int left = (int)((deadline - now_s()) * 1000);
      if (left < 0) break;
      struct pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, left) <= 0) break;
      char ctrl[256];
      struct iovec iov = {buf, sizeof buf};
      struct msghdr mh;
      memset(&mh, 0, sizeof mh);
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = ctrl;
      mh.msg_controllen = sizeof ctrl;
      ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
      if (n < 0) continue;
      /* Our reply only: addressed to SRC_IP (not a gratuitous ARP, not an answer to the kernel's own requests). */
      if (!is_reply(buf, n, dst) || memcmp(buf + 38, &src, 4) != 0) continue;
      struct timespec t1;
      clock_gettime(CLOCK_REALTIME, &t1);
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) memcpy(&t1, CMSG_DATA(c), sizeof t1);
      double us = (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3;
      if (us < 0) continue; /* received before this request left: a late answer to an earlier one */
      rtt[got++] = us;
      break;
    }
    usleep((useconds_t)interval_us);
  }
  printf("{\"sent\":%d,\"received\":%d,\"samples_us\":[", sent, got);
  for (int i = 0; i < got; i++) printf("%s%.1f", i ? "," : "", rtt[i]);
  qsort(rtt, (size_t)got, sizeof(double), cmp_double);
  double p50 = got ? rtt[(got - 1) / 2] : -1, p99 = got ? rtt[(int)((got - 1) * 0.99)] : -1, mx = got ? rtt[got - 1] : -1;
  printf("],\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n", p50, p99, mx);
  return 0;
}

static long drain(int fd, struct in_addr target) {
  struct mmsghdr msgs[64];
  struct iovec iov[64];
  static uint8_t bufs[64][128];
  long got = 0;
  for (;;) {
    for (int i = 0; i < 64; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = sizeof bufs[i];
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd, msgs, 64, MSG_DONTWAIT, NULL);
    if (n <= 0) return got;
    for (int i = 0; i < n; i++)
      if (is_reply(bufs[i], msgs[i].msg_len, target)) got++;
  }
}

static int flood(const char *ifname, struct in_addr src, struct in_addr dst, double rate, double secs) {
  uint8_t mac[6];
  int ifindex;
  int fd = open_sock(ifname, ETH_P_ARP, mac, &ifindex);
  uint8_t req[42];
  build_request(req, mac, src, dst);
  long sent = 0, received = 0;
  double start = now_s();
  while (now_s() - start < secs) {
    for (int k = 0; k < 8; k++)
      if (send(fd, req, sizeof req, 0) >= 0) sent++;
    received += drain(fd, dst);
    double due = start + sent / rate;
    while (now_s() < due) {
      struct pollfd p = {fd, POLLIN, 0};
      double left = due - now_s();
      if (left > 0.0005 && poll(&p, 1, 0) == 0) usleep((useconds_t)(left * 1e6));
      received += drain(fd, dst);
    }
  }
  double elapsed = now_s() - start;
  double end = now_s() + 0.3; /* late replies */
  while (now_s() < end) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 20) > 0) received += drain(fd, dst);
  }
  struct tpacket_stats st;
  socklen_t len = sizeof st;
  memset(&st, 0, sizeof st);
  getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len);
  printf("{\"sent\":%ld,\"received\":%ld,\"seconds\":%.3f,\"rx_drops\":%u}\n", sent, received, elapsed, st.tp_drops);
  return 0;
}

static void pace(double start, long sent, double rate) {
  double due = start + sent / rate;
  double t = now_s();
  if (due - t > 0.0002) usleep((useconds_t)((due - t) * 1e6));
}

static int noise(const char *ifname, const char *dstmac, double rate, double secs) {
  uint8_t mac[6], dmac[6];
  int ifindex;
  int tx = open_sock(ifname, ETH_P_ALL, mac, &ifindex);
  if (sscanf(dstmac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dmac[0], &dmac[1], &dmac[2], &dmac[3], &dmac[4], &dmac[5]) != 6) {
    fprintf(stderr, "bad mac\n");
    return 2;
  }
  uint8_t v4[60], v6[70];
  memset(v4, 0, sizeof v4);
  memset(v6, 0, sizeof v6);
  memcpy(v4, dmac, 6), memcpy(v4 + 6, mac, 6), v4[12] = 0x08, v4[13] = 0x00;
  v4[14] = 0x45, v4[17] = 46, v4[22] = 64, v4[23] = 17; /* IPv4 UDP, checksum left 0 */
  memcpy(v6, dmac, 6), memcpy(v6 + 6, mac, 6), v6[12] = 0x86, v6[13] = 0xdd;
  v6[14] = 0x60, v6[19] = 16, v6[20] = 17, v6[21] = 64; /* IPv6 UDP */
  long sent = 0;
  double start = now_s();
  while (now_s() - start < secs) {
    for (int k = 0; k < 16; k++) {
      if (send(tx, (k & 1) ? v6 : v4, (k & 1) ? sizeof v6 : sizeof v4, 0) >= 0) sent++;
    }
    pace(start, sent, rate);
  }
  printf("{\"sent\":%ld}\n", sent);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 7 && strcmp(argv[1], "latency") == 0) {
    struct in_addr s, d;
    inet_pton(AF_INET, argv[3], &s), inet_pton(AF_INET, argv[4], &d);
    return latency(argv[2], s, d, atoi(argv[5]), atoi(argv[6]), argc >= 8 ? atoi(argv[7]) : 50, argc >= 9 ? atof(argv[8]) : 0);
  }
  if (argc >= 7 && strcmp(argv[1], "flood") == 0) {
    struct in_addr s, d;
    inet_pton(AF_INET, argv[3], &s), inet_pton(AF_INET, argv[4], &d);
    return flood(argv[2], s, d, atof(argv[5]), atof(argv[6]));
  }
  if (argc >= 6 && strcmp(argv[1], "noise") == 0) return noise(argv[2], argv[3], atof(argv[4]), atof(argv[5]));
  fprintf(stderr, "usage: see the comment at the top of arp-prober.c\n");
  return 2;
}
