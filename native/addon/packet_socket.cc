// l2lb native addon: a thin, protocol-agnostic Linux AF_PACKET socket for Node.js (N-API 8).
//
// Protocol knowledge (ARP, IPv6, NDP) lives in TypeScript; this file moves bytes: open + bind
// on a named interface, classic BPF filter attached before bind, non-blocking receive through
// uv_poll with recvmmsg() into a JS-owned buffer (one JS call per batch), synchronous send,
// multicast membership (link level and IPv6 group level), PACKET_STATISTICS, ref/unref/close.
// It also lists interfaces (getifaddrs) with index, MAC, flags and addresses.
//
// One exception, the ARP reflex: JS may hand a socket the table "answer ARP requests for these
// IPv4 addresses with this MAC, never for requests from these MACs". Such plain requests are
// answered right after recvmmsg(), before the batch reaches JS, and the batch says which frames
// were answered so JS still counts them. The reply latency then no longer includes the JS call
// (about 25 us on a cold cache). JS decides everything else (docs/decisions.md).
#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <malloc.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace {

// Per slot: length, sll_pkttype, flags (1 = truncated), ARP reflex (0 = not answered here,
// 1 = reply sent, -errno = the reply could not be sent).
constexpr int kMetaInts = 4;

uint64_t Mac48(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 6; i++) v = (v << 8) | p[i];
  return v;
}

uint32_t Word32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);  // network order kept: only compared and copied, never interpreted
  return v;
}

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  std::string code = uv_err_name(-err);
  std::string msg = std::string(syscall) + " " + code + ": " + strerror(err);
  if (!detail.empty()) msg += " (" + detail + ")";
  if (err == EPERM || err == EACCES) {
    msg += "; raw AF_PACKET sockets need CAP_NET_RAW (run as root or add the NET_RAW capability)";
  }
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

// The ARP reflex table: answer requests for `ips` with `mac`, never requests from `ignoreMacs`.
// Empty `ips` = reflex off.
struct ArpReflexTable {
  uint64_t mac = 0;
  uint8_t macBytes[6] = {};
  std::vector<uint32_t> ips;         // sorted
  std::vector<uint64_t> ignoreMacs;  // sorted
};

// Fills `t` from the JS buffers (mac: 6 bytes, ips: 4 * n, ignore: 6 * m); false when a length is wrong.
bool ParseArpReflexTable(const Napi::Buffer<uint8_t>& mac, const Napi::Buffer<uint8_t>& ips,
                         const Napi::Buffer<uint8_t>& ignore, ArpReflexTable* t) {
  if (mac.Length() != 6 || ips.Length() % 4 != 0 || ignore.Length() % 6 != 0) return false;
  t->ips.clear();
  t->ignoreMacs.clear();
  for (size_t i = 0; i < ips.Length(); i += 4) t->ips.push_back(Word32(ips.Data() + i));
  for (size_t i = 0; i < ignore.Length(); i += 6) t->ignoreMacs.push_back(Mac48(ignore.Data() + i));
  std::sort(t->ips.begin(), t->ips.end());
  std::sort(t->ignoreMacs.begin(), t->ignoreMacs.end());
  memcpy(t->macBytes, mac.Data(), 6);
  t->mac = Mac48(t->macBytes);
  return true;
}

// The reflex decision, free of I/O: a plain Ethernet/IPv4 ARP request for a table IP, sent to
// broadcast or to us, from a MAC not in the ignore list, whose sender IP is not a table IP either
// (that is a conflict, for JS to see), gets the 42-byte reply written to `out`; returns whether.
// `f` holds `len` readable bytes (hostile: any length, any content).
bool ArpReflexReply(const ArpReflexTable& t, const uint8_t* f, size_t len, int pkttype, uint8_t out[42]) {
  static const uint8_t kRequestHeader[10] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1};
  auto has = [&t](uint32_t ip) { return std::binary_search(t.ips.begin(), t.ips.end(), ip); };
  if (t.ips.empty() || pkttype == PACKET_OUTGOING || len < 42) return false;
  if (memcmp(f + 12, kRequestHeader, sizeof kRequestHeader) != 0) return false;
  if (!has(Word32(f + 38)) || has(Word32(f + 28))) return false;
  uint64_t dst = Mac48(f);
  if (dst != 0xffffffffffffULL && dst != t.mac) return false;
  if (std::binary_search(t.ignoreMacs.begin(), t.ignoreMacs.end(), Mac48(f + 22))) return false;
  memcpy(out, f + 22, 6);  // to the requester's hardware address
  memcpy(out + 6, t.macBytes, 6);
  memcpy(out + 12, kRequestHeader, 9);
  out[21] = 2;  // reply
  memcpy(out + 22, t.macBytes, 6);
  memcpy(out + 28, f + 38, 4);   // sender IP = the requested VIP
  memcpy(out + 32, f + 22, 10);  // target = requester's MAC and IP
  return true;
}

// TEST ONLY (fuzzing, differential tests): _testArpReflex(mac, ips, ignoreMacs, frame, pkttype)
// runs the reflex decision on raw bytes without a socket; returns the reply it would send, or null.
// `frame` is copied to a buffer of exactly its length so a read past the end is caught by ASan.
Napi::Value TestArpReflex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "_testArpReflex(mac: Buffer(6), ips: Buffer(4 * n), ignoreMacs: Buffer(6 * m), frame: Buffer, pkttype: number)";
  if (info.Length() < 5 || !info[0].IsBuffer() || !info[1].IsBuffer() || !info[2].IsBuffer() || !info[3].IsBuffer() ||
      !info[4].IsNumber()) {
    throw Napi::TypeError::New(env, usage);
  }
  ArpReflexTable t;
  if (!ParseArpReflexTable(info[0].As<Napi::Buffer<uint8_t>>(), info[1].As<Napi::Buffer<uint8_t>>(),
                           info[2].As<Napi::Buffer<uint8_t>>(), &t)) {
    throw Napi::TypeError::New(env, usage);
  }
  auto frame = info[3].As<Napi::Buffer<uint8_t>>();
  std::vector<uint8_t> copy(frame.Data(), frame.Data() + frame.Length());
  uint8_t out[42];
  if (!ArpReflexReply(t, copy.data(), copy.size(), info[4].As<Napi::Number>().Int32Value(), out)) return env.Null();
  return Napi::Buffer<uint8_t>::Copy(env, out, sizeof out);
}

// Starts watching `fd` for readability with `owner` in handle->data; throws a Node-style error.
uv_poll_t* StartReadablePoll(Napi::Env env, int fd, void* owner, uv_poll_cb onPoll) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  auto* poll = new uv_poll_t;
  poll->data = owner;
  int rc = uv_poll_init_socket(loop, poll, fd);
  if (rc != 0) {
    delete poll;  // never initialised: libuv does not know it
    throw ErrnoError(env, -rc, "uv_poll_init_socket", "");
  }
  rc = uv_poll_start(poll, UV_READABLE, onPoll);
  if (rc != 0) {
    // An initialised handle may only be freed after uv_close.
    poll->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    throw ErrnoError(env, -rc, "uv_poll_start", "");
  }
  return poll;
}

// Stops `poll` and hands it to libuv to release; `onClosed` runs once libuv is done with it.
void ClosePoll(uv_poll_t*& poll, uv_close_cb onClosed) {
  if (poll == nullptr) return;
  uv_poll_stop(poll);
  uv_close(reinterpret_cast<uv_handle_t*>(poll), onClosed);
  poll = nullptr;
}

// uv_close callback for a poll handle whose owner Ref()ed itself while polling.
template <typename Wrap>
void ReleasePollAndUnref(uv_handle_t* handle) {
  auto* self = static_cast<Wrap*>(handle->data);
  delete reinterpret_cast<uv_poll_t*>(handle);
  if (self != nullptr) self->Unref();
}

class PacketSocket : public Napi::ObjectWrap<PacketSocket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "PacketSocket",
                       {
                           InstanceMethod<&PacketSocket::Start>("start"),
                           InstanceMethod<&PacketSocket::Send>("send"),
                           InstanceMethod<&PacketSocket::AddMembership>("addMembership"),
                           InstanceMethod<&PacketSocket::DropMembership>("dropMembership"),
                           InstanceMethod<&PacketSocket::JoinGroup6>("joinGroup6"),
                           InstanceMethod<&PacketSocket::LeaveGroup6>("leaveGroup6"),
                           InstanceMethod<&PacketSocket::SetFilter>("setFilter"),
                           InstanceMethod<&PacketSocket::SetArpReplies>("setArpReplies"),
                           InstanceMethod<&PacketSocket::Stats>("stats"),
                           InstanceMethod<&PacketSocket::RefLoop>("ref"),
                           InstanceMethod<&PacketSocket::UnrefLoop>("unref"),
                           InstanceMethod<&PacketSocket::Close>("close"),
                           InstanceAccessor<&PacketSocket::IfIndex>("ifindex"),
                           InstanceAccessor<&PacketSocket::Closed>("closed"),
                       });
  }

  // new PacketSocket(ifname: string, ethertype: number, filter: Buffer | null, rcvBuf: number)
  explicit PacketSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PacketSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
      throw Napi::TypeError::New(env, "PacketSocket(ifname: string, ethertype: number, filter?, rcvBuf?)");
    }
    std::string ifname = info[0].As<Napi::String>().Utf8Value();
    int ethertype = info[1].As<Napi::Number>().Int32Value();
    if (ifname.empty() || ifname.size() >= IF_NAMESIZE) {
      throw ErrnoError(env, ENODEV, "if_nametoindex", "invalid interface name '" + ifname + "'");
    }
    unsigned idx = if_nametoindex(ifname.c_str());
    // Never bind with ifindex 0: that would capture (and answer) on every interface of the host.
    if (idx == 0) throw ErrnoError(env, ENODEV, "if_nametoindex", "no interface named '" + ifname + "'");
    ifindex_ = static_cast<int>(idx);

    // Protocol 0: nothing is queued until bind(), so the filter is in place before any frame.
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw ErrnoError(env, errno, "socket", "AF_PACKET on '" + ifname + "'");

    if (info.Length() > 2 && info[2].IsBuffer()) {
      auto f = info[2].As<Napi::Buffer<uint8_t>>();
      int err = AttachFilter(f.Data(), f.Length());
      if (err != 0) {
        Fail();
        throw ErrnoError(env, err, "setsockopt", "SO_ATTACH_FILTER");
      }
    }
    if (info.Length() > 3 && info[3].IsNumber()) {
      int size = info[3].As<Napi::Number>().Int32Value();
      if (size > 0 && setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);  // capped by rmem_max
      }
    }
    if (ethertype == ETH_P_ALL) {
      int one = 1;
      setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);  // Linux >= 4.20
    }
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(static_cast<uint16_t>(ethertype));
    sll.sll_ifindex = ifindex_;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
      int err = errno;
      Fail();
      throw ErrnoError(env, err, "bind", "AF_PACKET on '" + ifname + "'");
    }
  }

  ~PacketSocket() override {
    if (poll_ != nullptr) {
      // Only reachable at environment teardown (a polling socket holds a strong reference).
      uv_poll_stop(poll_);
      poll_ = nullptr;
    }
    Fail();
  }

 private:
  int fd_ = -1;
  int fd6_ = -1;
  int ifindex_ = 0;
  uv_poll_t* poll_ = nullptr;
  bool closed_ = false;
  bool loopRef_ = true;
  int errStreak_ = 0;
  Napi::FunctionReference cb_;
  Napi::Reference<Napi::Buffer<uint8_t>> bufRef_;
  Napi::Reference<Napi::Int32Array> metaRef_;
  std::unique_ptr<Napi::AsyncContext> ctx_;
  uint8_t* buf_ = nullptr;
  int32_t* meta_ = nullptr;
  size_t slots_ = 0;
  size_t slotSize_ = 0;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<sockaddr_ll> addrs_;
  // ARP reflex table (empty ips = off); set from JS, read only on the loop thread.
  ArpReflexTable arp_;

  void Fail() {
    if (fd_ >= 0) close(fd_);
    if (fd6_ >= 0) close(fd6_);
    fd_ = fd6_ = -1;
    closed_ = true;
  }

  int AttachFilter(const uint8_t* data, size_t len) {
    if (len == 0 || len % sizeof(sock_filter) != 0 || len / sizeof(sock_filter) > BPF_MAXINSNS) return EINVAL;
    std::vector<sock_filter> insns(len / sizeof(sock_filter));
    memcpy(insns.data(), data, len);
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(insns.size());
    prog.filter = insns.data();
    if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) return errno;
    return 0;
  }

  void CheckOpen(Napi::Env env, const char* what) {
    if (closed_ || fd_ < 0) throw ErrnoError(env, EBADF, what, "socket is closed");
  }

  Napi::Value IfIndex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ifindex_); }
  Napi::Value Closed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), closed_); }

  // start(buffer: Buffer (slots * slotSize), meta: Int32Array (slots * 4), slotSize: number,
  //       cb: (count: number) => void)   count < 0 is -errno (e.g. ENETDOWN after link down)
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env, "start");
    if (poll_ != nullptr) throw Napi::Error::New(env, "start: already started");
    if (info.Length() < 4 || !info[0].IsBuffer() || !info[1].IsTypedArray() || !info[2].IsNumber() ||
        !info[3].IsFunction()) {
      throw Napi::TypeError::New(env, "start(buffer, meta: Int32Array, slotSize, cb)");
    }
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    auto meta = info[1].As<Napi::Int32Array>();
    size_t slotSize = info[2].As<Napi::Number>().Uint32Value();
    if (slotSize < 64 || buf.Length() < slotSize) throw Napi::RangeError::New(env, "start: slotSize too small");
    size_t slots = buf.Length() / slotSize;
    if (meta.ElementLength() < slots * kMetaInts) throw Napi::RangeError::New(env, "start: meta too small");
    buf_ = buf.Data();
    meta_ = meta.Data();
    slots_ = slots;
    slotSize_ = slotSize;
    bufRef_ = Napi::Persistent(buf);
    metaRef_ = Napi::Persistent(meta);
    cb_ = Napi::Persistent(info[3].As<Napi::Function>());
    ctx_ = std::make_unique<Napi::AsyncContext>(env, "l2lb:PacketSocket");
    msgs_.assign(slots_, mmsghdr{});
    iovs_.assign(slots_, iovec{});
    addrs_.assign(slots_, sockaddr_ll{});

    poll_ = StartReadablePoll(env, fd_, this, OnPoll);
    if (!loopRef_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    Ref();  // keep the JS object alive while the poll handle points at it
    return env.Undefined();
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    static_cast<PacketSocket*>(handle->data)->HandlePoll(status, events);
  }

  void Deliver(Napi::Env env, int count) {
    try {
      cb_.MakeCallback(Value(), {Napi::Number::New(env, count)}, *ctx_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());  // surfaces as 'uncaughtException' in JS
    }
  }

  void HandlePoll(int status, int events) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (closed_) return;
    if (status < 0) {
      // POLLERR (e.g. ENETDOWN after link down): libuv stops the handle. Read and clear the
      // socket error, report it, and re-arm so the socket keeps working after link up.
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) {
        err = -status;
        errStreak_++;
      } else {
        errStreak_ = 0;
      }
      if (errStreak_ < 3) uv_poll_start(poll_, UV_READABLE, OnPoll);
      // else: persistent error without a socket error; stay stopped, the layer above reopens.
      Deliver(env, -err);
      return;
    }
    errStreak_ = 0;
    for (int round = 0; round < 8 && !closed_; round++) {
      for (size_t i = 0; i < slots_; i++) {
        iovs_[i].iov_base = buf_ + i * slotSize_;
        iovs_[i].iov_len = slotSize_;
        msghdr& h = msgs_[i].msg_hdr;
        memset(&h, 0, sizeof h);
        h.msg_name = &addrs_[i];
        h.msg_namelen = sizeof(sockaddr_ll);
        h.msg_iov = &iovs_[i];
        h.msg_iovlen = 1;
        msgs_[i].msg_len = 0;
      }
      int n = recvmmsg(fd_, msgs_.data(), static_cast<unsigned>(slots_), MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) Deliver(env, -errno);
        return;
      }
      if (n == 0) return;
      for (int i = 0; i < n; i++) {
        meta_[i * kMetaInts] = static_cast<int32_t>(msgs_[i].msg_len);
        meta_[i * kMetaInts + 1] = addrs_[i].sll_pkttype;
        meta_[i * kMetaInts + 2] = (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) ? 1 : 0;
        meta_[i * kMetaInts + 3] = ArpReflex(buf_ + i * slotSize_, std::min<size_t>(msgs_[i].msg_len, slotSize_),
                                             addrs_[i].sll_pkttype);
      }
      Deliver(env, n);
      if (static_cast<size_t>(n) < slots_) return;
    }
  }

  // The reflex on one received frame (decision in ArpReflexReply). Returns the meta value:
  // 0 not answered here, 1 sent, -errno send failed.
  int ArpReflex(const uint8_t* f, size_t len, int pkttype) {
    uint8_t out[42];
    if (!ArpReflexReply(arp_, f, len, pkttype, out)) return 0;
    ssize_t n = send(fd_, out, sizeof out, MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(sizeof out)) return 1;
    return n < 0 ? -errno : -EIO;
  }

  // setArpReplies(mac: Buffer(6) | null, ips: Buffer (4 bytes each), ignoreMacs: Buffer (6 bytes
  // each)): replaces the ARP reflex table; null or no IPs turns the reflex off.
  Napi::Value SetArpReplies(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env, "setArpReplies");
    if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
      arp_.ips.clear();
      arp_.ignoreMacs.clear();
      return env.Undefined();
    }
    const char* usage = "setArpReplies(mac: Buffer(6) | null, ips: Buffer(4 * n), ignoreMacs: Buffer(6 * m))";
    if (info.Length() < 3 || !info[0].IsBuffer() || !info[1].IsBuffer() || !info[2].IsBuffer()) {
      throw Napi::TypeError::New(env, usage);
    }
    ArpReflexTable table;
    if (!ParseArpReflexTable(info[0].As<Napi::Buffer<uint8_t>>(), info[1].As<Napi::Buffer<uint8_t>>(),
                             info[2].As<Napi::Buffer<uint8_t>>(), &table)) {
      throw Napi::TypeError::New(env, usage);
    }
    arp_ = std::move(table);
    return env.Undefined();
  }

  // send(frame: Buffer): synchronous, MSG_DONTWAIT; throws EAGAIN / ENETDOWN / ENXIO ...
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env, "send");
    if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "send(frame: Buffer)");
    auto f = info[0].As<Napi::Buffer<uint8_t>>();
    ssize_t n = send(fd_, f.Data(), f.Length(), MSG_DONTWAIT);
    if (n < 0) throw ErrnoError(env, errno, "send", "");
    return Napi::Number::New(env, static_cast<double>(n));
  }

  Napi::Value Membership(const Napi::CallbackInfo& info, int op, const char* name) {
    Napi::Env env = info.Env();
    CheckOpen(env, name);
    if (info.Length() < 1 || !info[0].IsBuffer() || info[0].As<Napi::Buffer<uint8_t>>().Length() != 6) {
      throw Napi::TypeError::New(env, std::string(name) + "(mac: Buffer of 6 bytes)");
    }
    packet_mreq mr{};
    mr.mr_ifindex = ifindex_;
    mr.mr_type = PACKET_MR_MULTICAST;  // 0; 1 would be PACKET_MR_PROMISC
    mr.mr_alen = 6;
    memcpy(mr.mr_address, info[0].As<Napi::Buffer<uint8_t>>().Data(), 6);
    if (setsockopt(fd_, SOL_PACKET, op, &mr, sizeof mr) != 0) throw ErrnoError(env, errno, "setsockopt", name);
    return env.Undefined();
  }
  Napi::Value AddMembership(const Napi::CallbackInfo& info) {
    return Membership(info, PACKET_ADD_MEMBERSHIP, "PACKET_ADD_MEMBERSHIP");
  }
  Napi::Value DropMembership(const Napi::CallbackInfo& info) {
    return Membership(info, PACKET_DROP_MEMBERSHIP, "PACKET_DROP_MEMBERSHIP");
  }

  // IPv6 group membership at IP level (the kernel sends MLD reports, so snooping switches
  // deliver the group to us). Held on a private AF_INET6 datagram socket closed with this one.
  Napi::Value Group6(const Napi::CallbackInfo& info, int op, const char* name) {
    Napi::Env env = info.Env();
    CheckOpen(env, name);
    if (info.Length() < 1 || !info[0].IsBuffer() || info[0].As<Napi::Buffer<uint8_t>>().Length() != 16) {
      throw Napi::TypeError::New(env, std::string(name) + "(group: Buffer of 16 bytes)");
    }
    if (fd6_ < 0) {
      fd6_ = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd6_ < 0) throw ErrnoError(env, errno, "socket", "AF_INET6 for group membership");
    }
    ipv6_mreq m{};
    memcpy(&m.ipv6mr_multiaddr, info[0].As<Napi::Buffer<uint8_t>>().Data(), 16);
    m.ipv6mr_interface = static_cast<unsigned>(ifindex_);
    if (setsockopt(fd6_, IPPROTO_IPV6, op, &m, sizeof m) != 0) throw ErrnoError(env, errno, "setsockopt", name);
    return env.Undefined();
  }
  Napi::Value JoinGroup6(const Napi::CallbackInfo& info) { return Group6(info, IPV6_JOIN_GROUP, "IPV6_JOIN_GROUP"); }
  Napi::Value LeaveGroup6(const Napi::CallbackInfo& info) {
    return Group6(info, IPV6_LEAVE_GROUP, "IPV6_LEAVE_GROUP");
  }

  // setFilter(filter: Buffer | null): atomic swap, or detach with null.
  Napi::Value SetFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env, "setFilter");
    if (info.Length() > 0 && info[0].IsBuffer()) {
      auto f = info[0].As<Napi::Buffer<uint8_t>>();
      int err = AttachFilter(f.Data(), f.Length());
      if (err != 0) throw ErrnoError(env, err, "setsockopt", "SO_ATTACH_FILTER");
    } else {
      int zero = 0;
      if (setsockopt(fd_, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof zero) != 0 && errno != ENOENT) {
        throw ErrnoError(env, errno, "setsockopt", "SO_DETACH_FILTER");
      }
    }
    return env.Undefined();
  }

  // stats(): PACKET_STATISTICS, reset by the kernel on every read.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env, "stats");
    tpacket_stats st{};
    socklen_t len = sizeof st;
    if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
      throw ErrnoError(env, errno, "getsockopt", "PACKET_STATISTICS");
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("packets", Napi::Number::New(env, st.tp_packets));
    o.Set("drops", Napi::Number::New(env, st.tp_drops));
    return o;
  }

  Napi::Value RefLoop(const Napi::CallbackInfo& info) {
    loopRef_ = true;
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value UnrefLoop(const Napi::CallbackInfo& info) {
    loopRef_ = false;
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  // close(): idempotent; stops polling, closes the fds (memberships go with them).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (closed_) return info.Env().Undefined();
    ClosePoll(poll_, ReleasePollAndUnref<PacketSocket>);
    Fail();
    cb_.Reset();
    bufRef_.Reset();
    metaRef_.Reset();
    buf_ = nullptr;
    meta_ = nullptr;
    return info.Env().Undefined();
  }
};

// Link/address change notifications (rtnetlink multicast groups). Carries no details: the JS side
// re-reads the interface list when called, so a lost (ENOBUFS) message costs nothing either.
class LinkWatcher : public Napi::ObjectWrap<LinkWatcher> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "LinkWatcher",
                       {
                           InstanceMethod<&LinkWatcher::RefLoop>("ref"),
                           InstanceMethod<&LinkWatcher::UnrefLoop>("unref"),
                           InstanceMethod<&LinkWatcher::Close>("close"),
                       });
  }

  // new LinkWatcher(cb: () => void)
  explicit LinkWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LinkWatcher>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "LinkWatcher(cb)");
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) throw ErrnoError(env, errno, "socket", "AF_NETLINK");
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      int err = errno;
      close(fd_);
      fd_ = -1;
      throw ErrnoError(env, err, "bind", "NETLINK_ROUTE link/address groups");
    }
    cb_ = Napi::Persistent(info[0].As<Napi::Function>());
    ctx_ = std::make_unique<Napi::AsyncContext>(env, "l2lb:LinkWatcher");
    try {
      poll_ = StartReadablePoll(env, fd_, this, OnPoll);
    } catch (...) {
      close(fd_);
      fd_ = -1;
      throw;
    }
    Ref();
  }

  ~LinkWatcher() override {
    if (fd_ >= 0) close(fd_);
  }

 private:
  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference cb_;
  std::unique_ptr<Napi::AsyncContext> ctx_;

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<LinkWatcher*>(handle->data);
    if (self->fd_ < 0) return;
    char buf[16384];
    int drained = 0;
    for (int i = 0; i < 64; i++) {
      ssize_t n = recv(self->fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0 || (n < 0 && errno == ENOBUFS)) {
        drained++;
        continue;
      }
      break;
    }
    if (status < 0) uv_poll_start(handle, UV_READABLE, OnPoll);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    try {
      self->cb_.MakeCallback(self->Value(), {}, *self->ctx_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
    (void)drained;
  }

  Napi::Value RefLoop(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value UnrefLoop(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    ClosePoll(poll_, ReleasePollAndUnref<LinkWatcher>);
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    cb_.Reset();
    return info.Env().Undefined();
  }
};

int PrefixLen(const sockaddr* mask) {
  if (mask == nullptr) return 0;
  const uint8_t* p = nullptr;
  size_t n = 0;
  if (mask->sa_family == AF_INET) {
    p = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
    n = 4;
  } else if (mask->sa_family == AF_INET6) {
    p = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
    n = 16;
  } else {
    return 0;
  }
  int bits = 0;
  for (size_t i = 0; i < n; i++) bits += __builtin_popcount(p[i]);
  return bits;
}

// listInterfaces(): [{ name, index, flags, mac: Buffer | null, addresses: [{ family, address, prefixLen, scopeId }] }]
Napi::Value ListInterfaces(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) throw ErrnoError(env, errno, "getifaddrs", "");
  std::map<std::string, Napi::Object> byName;
  std::vector<std::string> order;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    std::string name = a->ifa_name;
    auto it = byName.find(name);
    if (it == byName.end()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", name);
      o.Set("index", Napi::Number::New(env, if_nametoindex(a->ifa_name)));
      o.Set("flags", Napi::Number::New(env, a->ifa_flags));
      o.Set("mac", env.Null());
      o.Set("addresses", Napi::Array::New(env));
      it = byName.emplace(name, o).first;
      order.push_back(name);
    }
    Napi::Object o = it->second;
    if (a->ifa_addr == nullptr) continue;
    int fam = a->ifa_addr->sa_family;
    if (fam == AF_PACKET) {
      auto* ll = reinterpret_cast<const sockaddr_ll*>(a->ifa_addr);
      o.Set("index", Napi::Number::New(env, ll->sll_ifindex));
      o.Set("flags", Napi::Number::New(env, a->ifa_flags));
      if (ll->sll_halen == 6) o.Set("mac", Napi::Buffer<uint8_t>::Copy(env, ll->sll_addr, 6));
    } else if (fam == AF_INET || fam == AF_INET6) {
      char text[INET6_ADDRSTRLEN] = {0};
      uint32_t scope = 0;
      if (fam == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
      } else {
        auto* s6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
        inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof text);
        scope = s6->sin6_scope_id;
      }
      Napi::Object addr = Napi::Object::New(env);
      addr.Set("family", Napi::Number::New(env, fam == AF_INET ? 4 : 6));
      addr.Set("address", Napi::String::New(env, text));
      addr.Set("prefixLen", Napi::Number::New(env, PrefixLen(a->ifa_netmask)));
      addr.Set("scopeId", Napi::Number::New(env, scope));
      Napi::Array arr = o.Get("addresses").As<Napi::Array>();
      arr.Set(arr.Length(), addr);
    }
  }
  freeifaddrs(list);
  Napi::Array out = Napi::Array::New(env, order.size());
  for (size_t i = 0; i < order.size(); i++) out.Set(static_cast<uint32_t>(i), byName.at(order[i]));
  return out;
}

// Gives the C heap's free pages back to the kernel. glibc keeps memory freed in the middle of its arenas
// (only the top of an arena is trimmed by free()); a long-running process with bursts of allocation (the
// speaker's relists, its start-up) otherwise keeps their high-water mark as RSS. Returns whether any
// memory was released; false on a C library without malloc_trim.
Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("PacketSocket", PacketSocket::Init(env));
  exports.Set("LinkWatcher", LinkWatcher::Init(env));
  exports.Set("listInterfaces", Napi::Function::New<ListInterfaces>(env, "listInterfaces"));
  exports.Set("mallocTrim", Napi::Function::New<MallocTrim>(env, "mallocTrim"));
  exports.Set("_testArpReflex", Napi::Function::New<TestArpReflex>(env, "_testArpReflex"));
  Napi::Object c = Napi::Object::New(env);
  c.Set("ETH_P_ALL", Napi::Number::New(env, ETH_P_ALL));
  c.Set("ETH_P_ARP", Napi::Number::New(env, ETH_P_ARP));
  c.Set("ETH_P_IPV6", Napi::Number::New(env, ETH_P_IPV6));
  c.Set("PACKET_HOST", Napi::Number::New(env, PACKET_HOST));
  c.Set("PACKET_BROADCAST", Napi::Number::New(env, PACKET_BROADCAST));
  c.Set("PACKET_MULTICAST", Napi::Number::New(env, PACKET_MULTICAST));
  c.Set("PACKET_OTHERHOST", Napi::Number::New(env, PACKET_OTHERHOST));
  c.Set("PACKET_OUTGOING", Napi::Number::New(env, PACKET_OUTGOING));
  exports.Set("constants", c);
  return exports;
}

}  // namespace

NODE_API_MODULE(l2lb_native, Init)
