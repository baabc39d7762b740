/*
 * lbprobe: UDP probes for calibrating an emulated link (`lowband netem check`).
 *
 * Runs inside the link's namespaces (via `ip netns exec`). Written in C rather
 * than Node so pacing and timestamps are not blurred by an event loop, and so
 * it runs from source checkouts without a TypeScript build.
 *
 *   lbprobe echo  PORT
 *       Echo every datagram to its sender until SIGTERM.
 *   lbprobe ping  ADDR PORT COUNT INTERVAL_US PAYLOAD WAIT_MS
 *       Send COUNT timestamped datagrams, collect the echoes, print RTTs.
 *   lbprobe sink  PORT FIRST_MS IDLE_MS GAP_MS
 *       Count sequenced datagrams until IDLE_MS without one (0: until
 *       SIGTERM), or FIRST_MS before the first. Reports arrival span, IP
 *       bytes, distinct/duplicate/reordered packets and every silence longer
 *       than GAP_MS (0: none).
 *   lbprobe blast ADDR PORT RATE_BPS IP_SIZE COUNT
 *       Send COUNT sequenced datagrams of IP_SIZE bytes (IPv4 + UDP headers
 *       included), paced at RATE_BPS.
 *
 * Every command prints one JSON object on stdout; sink and echo first print
 * {"event":"ready"} once their socket is bound. Timestamps are nanoseconds of
 * CLOCK_MONOTONIC printed as strings (they outgrow a double's exact range),
 * the same clock Node's process.hrtime uses, so the wrapper can line them up
 * with its own events.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* IPv4 header without options plus the UDP header. */
#define IP_UDP_OVERHEAD 28
#define MAX_DATAGRAM 65507
#define MAX_GAPS 256

static volatile sig_atomic_t stop = 0;
static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "lbprobe: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int udp_socket(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  return fd;
}

static int bound_socket(int port) {
  int fd = udp_socket();
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = INADDR_ANY};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  return fd;
}

static struct sockaddr_in target(const char *addr, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
    fprintf(stderr, "lbprobe: bad IPv4 address %s\n", addr);
    exit(2);
  }
  return a;
}

static void sleep_until(uint64_t t) {
  struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull), .tv_nsec = (long)(t % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop) {
  }
}

static void ready(void) {
  printf("{\"event\":\"ready\"}\n");
  fflush(stdout);
}

static int run_echo(int port) {
  int fd = bound_socket(port);
  ready();
  static unsigned char buf[MAX_DATAGRAM];
  while (!stop) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recvfrom");
    }
    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
  }
  printf("{\"event\":\"done\"}\n");
  return 0;
}

/* Ping payload: u32 sequence, u32 padding, u64 send time. */
static int run_ping(const char *addr, int port, int count, uint64_t interval_us, int payload, int wait_ms) {
  if (payload < 16) payload = 16;
  int fd = udp_socket();
  struct sockaddr_in to = target(addr, port);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
  uint64_t *rtt = calloc((size_t)count, sizeof *rtt);
  unsigned char *seen = calloc((size_t)count, 1);
  unsigned char *buf = calloc(1, MAX_DATAGRAM);
  if (!rtt || !seen || !buf) die("calloc");
  int sent = 0, received = 0;
  uint64_t start = now_ns(), deadline = 0;
  while (!stop) {
    uint64_t now = now_ns();
    uint64_t next_send = start + (uint64_t)sent * interval_us * 1000ull;
    if (sent < count && now >= next_send) {
      uint32_t seq = (uint32_t)sent;
      memset(buf, 0, (size_t)payload);
      memcpy(buf, &seq, 4);
      memcpy(buf + 8, &now, 8);
      if (send(fd, buf, (size_t)payload, 0) < 0 && errno != ENOBUFS) die("send");
      sent++;
      if (sent == count) deadline = now + (uint64_t)wait_ms * 1000000ull;
      continue;
    }
    if (sent == count && (received == count || now >= deadline)) break;
    uint64_t until = sent < count ? next_send : deadline;
    int timeout_ms = until > now ? (int)((until - now + 999999) / 1000000) : 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0) continue;
    ssize_t n = recv(fd, buf, MAX_DATAGRAM, 0);
    uint64_t at = now_ns();
    if (n < 16) continue;
    uint32_t seq;
    uint64_t sent_at;
    memcpy(&seq, buf, 4);
    memcpy(&sent_at, buf + 8, 8);
    if (seq >= (uint32_t)count || seen[seq]) continue;
    seen[seq] = 1;
    rtt[seq] = at - sent_at;
    received++;
  }
  printf("{\"sent\":%d,\"received\":%d,\"ip_size\":%d,\"rtt_us\":[", sent, received, payload + IP_UDP_OVERHEAD);
  int first = 1;
  for (int i = 0; i < count; i++) {
    if (!seen[i]) continue;
    printf("%s%.1f", first ? "" : ",", (double)rtt[i] / 1000.0);
    first = 0;
  }
  printf("]}\n");
  return 0;
}

static int run_sink(int port, int first_ms, int idle_ms, int gap_ms) {
  int fd = bound_socket(port);
  ready();
  size_t cap = 1 << 16;
  unsigned char *seen = calloc(cap, 1);
  unsigned char *buf = malloc(MAX_DATAGRAM);
  if (!seen || !buf) die("alloc");
  uint64_t packets = 0, bytes = 0, first_bytes = 0, distinct = 0, duplicates = 0, reordered = 0;
  uint64_t first_ns = 0, last_ns = 0, max_seq = 0;
  uint64_t gaps[MAX_GAPS][2];
  int gap_count = 0;
  uint64_t start = now_ns();
  while (!stop) {
    uint64_t now = now_ns();
    int timeout_ms;
    if (packets == 0) {
      uint64_t limit = start + (uint64_t)first_ms * 1000000ull;
      if (now >= limit) break;
      timeout_ms = (int)((limit - now) / 1000000ull) + 1;
    } else if (idle_ms > 0) {
      uint64_t limit = last_ns + (uint64_t)idle_ms * 1000000ull;
      if (now >= limit) break;
      timeout_ms = (int)((limit - now) / 1000000ull) + 1;
    } else {
      timeout_ms = 200;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0) continue;
    ssize_t n = recv(fd, buf, MAX_DATAGRAM, MSG_DONTWAIT);
    uint64_t at = now_ns();
    if (n < 4) continue;
    uint32_t seq;
    memcpy(&seq, buf, 4);
    uint64_t ip_len = (uint64_t)n + IP_UDP_OVERHEAD;
    if (packets == 0) {
      first_ns = at;
      first_bytes = ip_len;
    } else if (gap_ms > 0 && at - last_ns > (uint64_t)gap_ms * 1000000ull && gap_count < MAX_GAPS) {
      gaps[gap_count][0] = last_ns;
      gaps[gap_count][1] = at;
      gap_count++;
    }
    packets++;
    bytes += ip_len;
    last_ns = at;
    if (seq >= cap) {
      size_t grown = cap;
      while (seq >= grown) grown *= 2;
      seen = realloc(seen, grown);
      if (!seen) die("realloc");
      memset(seen + cap, 0, grown - cap);
      cap = grown;
    }
    if (seen[seq]) {
      duplicates++;
      continue;
    }
    seen[seq] = 1;
    if (distinct > 0 && seq < max_seq) reordered++;
    if (seq > max_seq) max_seq = seq;
    distinct++;
  }
  printf("{\"packets\":%llu,\"distinct\":%llu,\"duplicates\":%llu,\"reordered\":%llu,\"ip_bytes\":%llu,"
         "\"first_ip_bytes\":%llu,\"first_ns\":\"%llu\",\"last_ns\":\"%llu\",\"gaps_ns\":[",
         (unsigned long long)packets, (unsigned long long)distinct, (unsigned long long)duplicates,
         (unsigned long long)reordered, (unsigned long long)bytes, (unsigned long long)first_bytes,
         (unsigned long long)first_ns, (unsigned long long)last_ns);
  for (int i = 0; i < gap_count; i++)
    printf("%s[\"%llu\",\"%llu\"]", i ? "," : "", (unsigned long long)gaps[i][0], (unsigned long long)gaps[i][1]);
  printf("]}\n");
  return 0;
}

static int run_blast(const char *addr, int port, double rate_bps, int ip_size, long count) {
  int payload = ip_size - IP_UDP_OVERHEAD;
  if (payload < 4) payload = 4;
  int fd = udp_socket();
  struct sockaddr_in to = target(addr, port);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
  unsigned char *buf = calloc(1, (size_t)payload);
  if (!buf) die("calloc");
  double spacing_ns = (double)(payload + IP_UDP_OVERHEAD) * 8e9 / rate_bps;
  long sent = 0, errors = 0;
  uint64_t start = now_ns();
  for (long i = 0; i < count && !stop; i++) {
    sleep_until(start + (uint64_t)((double)i * spacing_ns));
    uint32_t seq = (uint32_t)i;
    memcpy(buf, &seq, 4);
    if (send(fd, buf, (size_t)payload, 0) < 0)
      errors++;
    else
      sent++;
  }
  printf("{\"sent\":%ld,\"send_errors\":%ld,\"ip_size\":%d,\"start_ns\":\"%llu\",\"end_ns\":\"%llu\"}\n", sent, errors,
         payload + IP_UDP_OVERHEAD, (unsigned long long)start, (unsigned long long)now_ns());
  return 0;
}

static void usage(void) {
  fprintf(stderr, "usage: lbprobe echo PORT | ping ADDR PORT COUNT INTERVAL_US PAYLOAD WAIT_MS |\n"
                  "       sink PORT FIRST_MS IDLE_MS GAP_MS | blast ADDR PORT RATE_BPS IP_SIZE COUNT\n");
  exit(2);
}

int main(int argc, char **argv) {
  /* The wrapper owns our lifetime: if it dies, so do we. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  prctl(PR_SET_TIMERSLACK, 1UL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 3) usage();
  const char *cmd = argv[1];
  if (strcmp(cmd, "echo") == 0 && argc == 3) return run_echo(atoi(argv[2]));
  if (strcmp(cmd, "ping") == 0 && argc == 8)
    return run_ping(argv[2], atoi(argv[3]), atoi(argv[4]), strtoull(argv[5], NULL, 10), atoi(argv[6]),
                    atoi(argv[7]));
  if (strcmp(cmd, "sink") == 0 && argc == 6) return run_sink(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  if (strcmp(cmd, "blast") == 0 && argc == 7)
    return run_blast(argv[2], atoi(argv[3]), strtod(argv[4], NULL), atoi(argv[5]), atol(argv[6]));
  usage();
  return 2;
}
