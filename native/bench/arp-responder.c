/* Minimal AF_PACKET ARP responder, the C reference for `npm run bench -- arp`.
 * usage: arp-responder IFNAME VIP
 * Answers ARP requests for VIP with a unicast reply from the interface MAC; blocking recv. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s IFNAME VIP\n", argv[0]);
    return 2;
  }
  unsigned idx = if_nametoindex(argv[1]);
  struct in_addr vip;
  if (idx == 0 || inet_pton(AF_INET, argv[2], &vip) != 1) {
    fprintf(stderr, "bad interface or address\n");
    return 2;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ARP));
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  int rcv = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[1]);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    perror("SIOCGIFHWADDR");
    return 1;
  }
  uint8_t mac[6];
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ARP);
  sll.sll_ifindex = (int)idx;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
    perror("bind");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  uint8_t in[2048], out[42];
  for (;;) {
    ssize_t n = recv(fd, in, sizeof in, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENETDOWN) continue;
      perror("recv");
      return 1;
    }
    if (n < 42 || in[12] != 0x08 || in[13] != 0x06 || in[20] != 0 || in[21] != 1) continue;
    if (memcmp(in + 38, &vip, 4) != 0) continue;
    memcpy(out, in + 22, 6);       /* eth dst = requester sha */
    memcpy(out + 6, mac, 6);       /* eth src */
    out[12] = 0x08, out[13] = 0x06;
    memcpy(out + 14, in + 14, 6);  /* htype ptype hlen plen */
    out[20] = 0, out[21] = 2;      /* reply */
    memcpy(out + 22, mac, 6);      /* sha */
    memcpy(out + 28, &vip, 4);     /* spa */
    memcpy(out + 32, in + 22, 10); /* tha, tpa = requester sha, spa */
    send(fd, out, sizeof out, MSG_DONTWAIT);
  }
}
