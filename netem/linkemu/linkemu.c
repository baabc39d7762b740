/*
 * linkemu: a userspace emulated link between two network namespaces.
 *
 * Used by lowband's netem wrapper on kernels without sch_netem. It creates one
 * TUN device in each namespace (by entering the namespace just for the
 * TUNSETIFF call, so the device never exists in the root namespace) and moves
 * IP packets between them, applying per direction what `tc qdisc ... netem`
 * would: random loss, a rate-limited bottleneck with a bounded tail-drop
 * buffer, one-way delay with jitter (kept in order), reordering, and outages.
 *
 * Direction names follow the project convention: "down" is A -> B
 * (server -> phone), "up" is B -> A (phone -> server).
 *
 * Control protocol (one command per line on stdin, one JSON line per answer
 * on stdout): "stats" prints counters, "down"/"up" switch the link state
 * (outages), "quit" exits normally. If stdin closes without "quit", or the
 * parent dies (PR_SET_PDEATHSIG), the wrapper is gone: linkemu then removes
 * the namespaces named by --cleanup-netns itself so nothing is left behind.
 *
 * Usage:
 *   linkemu --netns-a PATH --netns-b PATH --dev NAME
 *           --down RATE_BPS:DELAY_US:JITTER_US:LOSS:REORDER:QUEUE_BYTES
 *           --up   RATE_BPS:DELAY_US:JITTER_US:LOSS:REORDER:QUEUE_BYTES
 *           [--seed N] [--cleanup-netns PATH]...
 * LOSS and REORDER are probabilities in [0, 1]; RATE_BPS 0 means unlimited.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "packet-heap.h"

#define MAX_PACKET 65536
#define MAX_CLEANUP 4
/* Reads per device per loop turn: bounds how long delivery can be starved. */
#define READ_BURST 64

typedef struct {
  uint64_t state;
} rng_t;

typedef struct {
  const char *name;
  double rate_bps;
  uint64_t delay_ns;
  uint64_t jitter_ns;
  double loss;
  double reorder;
  uint64_t queue_bytes;
  int in_fd;
  int out_fd;
  rng_t rng;
  /* When the bottleneck finishes sending everything accepted so far. */
  uint64_t serializer_free_ns;
  /* Latest delivery time handed to an in-order packet; jitter never undercuts it. */
  uint64_t last_inorder_ns;
  uint64_t seq;
  packet_heap_t in_flight; /* accepted packets, ordered by delivery time */
  uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
  uint64_t lost, queue_dropped, outage_dropped, reordered, write_errors;
} direction_t;

static volatile sig_atomic_t got_term = 0;
static volatile sig_atomic_t got_usr1 = 0;
static int link_down = 0;
static uint64_t outages = 0;
static uint64_t start_ns = 0;
static const char *cleanup_paths[MAX_CLEANUP];
static int cleanup_count = 0;

static void on_signal(int sig) {
  if (sig == SIGUSR1)
    got_usr1 = 1;
  else
    got_term = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: tiny, seedable, and good enough for loss/jitter decisions. */
static uint64_t rng_next(rng_t *r) {
  uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double rng_unit(rng_t *r) { return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

static void die(const char *what) {
  fprintf(stderr, "linkemu: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* A packet entering the link: loss and tail drop first, as netem does, so a
 * dropped packet never occupies the bottleneck. */
static void ingress(direction_t *d, const unsigned char *buf, uint32_t len, uint64_t now) {
  d->rx_packets++;
  d->rx_bytes += len;
  if (link_down) {
    d->outage_dropped++;
    return;
  }
  if (d->loss > 0 && rng_unit(&d->rng) < d->loss) {
    d->lost++;
    return;
  }
  uint64_t start = d->serializer_free_ns > now ? d->serializer_free_ns : now;
  uint64_t depart = start;
  if (d->rate_bps > 0) {
    /* Bytes still waiting at the bottleneck, including the unsent part of the
     * packet on the wire: the FIFO drains at exactly rate_bps. */
    double backlog = (double)(start - now) * d->rate_bps / 8e9;
    if (backlog + len > (double)d->queue_bytes) {
      d->queue_dropped++;
      return;
    }
    depart = start + (uint64_t)((double)len * 8e9 / d->rate_bps + 0.5);
    d->serializer_free_ns = depart;
  }
  uint64_t deliver;
  if (d->reorder > 0 && rng_unit(&d->rng) < d->reorder) {
    /* netem's reordering: the packet skips the delay line and overtakes the
     * packets ahead of it (it still uses its share of the link rate). */
    deliver = depart;
    d->reordered++;
  } else {
    int64_t delay = (int64_t)d->delay_ns;
    if (d->jitter_ns > 0) delay += (int64_t)((rng_unit(&d->rng) * 2.0 - 1.0) * (double)d->jitter_ns);
    if (delay < 0) delay = 0;
    deliver = depart + (uint64_t)delay;
    /* Jitter alone must not reorder: a radio link delivers in sequence. */
    if (deliver < d->last_inorder_ns) deliver = d->last_inorder_ns;
    d->last_inorder_ns = deliver;
  }
  packet_t *p = malloc(sizeof *p + len);
  if (!p) die("malloc");
  p->deliver_ns = deliver;
  p->seq = d->seq++;
  p->len = len;
  memcpy(p->data, buf, len);
  heap_push(&d->in_flight, p);
}

static void deliver_due(direction_t *d, uint64_t now) {
  while (d->in_flight.len > 0 && d->in_flight.items[0]->deliver_ns <= now) {
    packet_t *p = heap_pop(&d->in_flight);
    if (link_down) {
      /* Packets in flight when the radio link drops are lost with it. */
      d->outage_dropped++;
    } else if (write(d->out_fd, p->data, p->len) == (ssize_t)p->len) {
      d->tx_packets++;
      d->tx_bytes += p->len;
    } else {
      d->write_errors++;
    }
    free(p);
  }
}

static void read_packets(direction_t *d, uint64_t now) {
  static unsigned char buf[MAX_PACKET];
  for (int i = 0; i < READ_BURST; i++) {
    ssize_t n = read(d->in_fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      die("read tun");
    }
    if (n == 0) return;
    ingress(d, buf, (uint32_t)n, now);
  }
}

static void print_direction(const direction_t *d) {
  printf("\"%s\":{\"rx_packets\":%llu,\"rx_bytes\":%llu,\"tx_packets\":%llu,\"tx_bytes\":%llu,"
         "\"lost\":%llu,\"queue_dropped\":%llu,\"outage_dropped\":%llu,\"reordered\":%llu,"
         "\"write_errors\":%llu,\"in_flight\":%zu}",
         d->name, (unsigned long long)d->rx_packets, (unsigned long long)d->rx_bytes,
         (unsigned long long)d->tx_packets, (unsigned long long)d->tx_bytes, (unsigned long long)d->lost,
         (unsigned long long)d->queue_dropped, (unsigned long long)d->outage_dropped,
         (unsigned long long)d->reordered, (unsigned long long)d->write_errors, d->in_flight.len);
}

static void print_counters(const char *event, const direction_t *down, const direction_t *up) {
  printf("{\"event\":\"%s\",\"elapsed_ms\":%.3f,\"link\":\"%s\",\"outages\":%llu,", event,
         (double)(now_ns() - start_ns) / 1e6, link_down ? "down" : "up", (unsigned long long)outages);
  print_direction(down);
  putchar(',');
  print_direction(up);
  printf("}\n");
  fflush(stdout);
}

static void set_link(int down) {
  if (down && !link_down) outages++;
  link_down = down;
  printf("{\"event\":\"link\",\"elapsed_ms\":%.3f,\"link\":\"%s\"}\n", (double)(now_ns() - start_ns) / 1e6,
         down ? "down" : "up");
  fflush(stdout);
}

/* Same effect as `ip netns del`: detach the bind mount that keeps the namespace
 * alive, then remove its name. */
static void cleanup_namespaces(void) {
  for (int i = 0; i < cleanup_count; i++) {
    umount2(cleanup_paths[i], MNT_DETACH);
    unlink(cleanup_paths[i]);
  }
}

static int open_tun_in(const char *netns_path, const char *dev, int home_fd) {
  int ns = open(netns_path, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die(netns_path);
  if (setns(ns, CLONE_NEWNET) < 0) die("setns");
  close(ns);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
  if (setns(home_fd, CLONE_NEWNET) < 0) die("setns home");
  return fd;
}

static void parse_direction(direction_t *d, const char *spec) {
  unsigned long long rate, delay_us, jitter_us, queue;
  double loss, reorder;
  if (sscanf(spec, "%llu:%llu:%llu:%lf:%lf:%llu", &rate, &delay_us, &jitter_us, &loss, &reorder, &queue) != 6 ||
      loss < 0 || loss > 1 || reorder < 0 || reorder > 1) {
    fprintf(stderr, "linkemu: bad %s spec '%s' (want RATE_BPS:DELAY_US:JITTER_US:LOSS:REORDER:QUEUE_BYTES)\n",
            d->name, spec);
    exit(2);
  }
  d->rate_bps = (double)rate;
  d->delay_ns = delay_us * 1000ull;
  d->jitter_ns = jitter_us * 1000ull;
  d->loss = loss;
  d->reorder = reorder;
  d->queue_bytes = queue;
}

/* Returns 1 when the wrapper asked to quit. */
static int handle_command(const char *line, const direction_t *down, const direction_t *up) {
  if (strcmp(line, "stats") == 0)
    print_counters("counters", down, up);
  else if (strcmp(line, "down") == 0)
    set_link(1);
  else if (strcmp(line, "up") == 0)
    set_link(0);
  else if (strcmp(line, "quit") == 0)
    return 1;
  else if (line[0] != '\0') {
    printf("{\"event\":\"error\",\"message\":\"unknown command\"}\n");
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *ns_a = NULL, *ns_b = NULL, *dev = NULL, *down_spec = NULL, *up_spec = NULL;
  unsigned long long seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--netns-a") == 0) ns_a = argv[i + 1];
    else if (strcmp(argv[i], "--netns-b") == 0) ns_b = argv[i + 1];
    else if (strcmp(argv[i], "--dev") == 0) dev = argv[i + 1];
    else if (strcmp(argv[i], "--down") == 0) down_spec = argv[i + 1];
    else if (strcmp(argv[i], "--up") == 0) up_spec = argv[i + 1];
    else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--cleanup-netns") == 0 && cleanup_count < MAX_CLEANUP)
      cleanup_paths[cleanup_count++] = argv[i + 1];
    else {
      fprintf(stderr, "linkemu: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (!ns_a || !ns_b || !dev || !down_spec || !up_spec) {
    fprintf(stderr, "linkemu: --netns-a, --netns-b, --dev, --down and --up are required\n");
    return 2;
  }

  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) {
    cleanup_namespaces();
    return 1;
  }
  /* Default timer slack (50 us) would blur sub-millisecond serialisation times. */
  prctl(PR_SET_TIMERSLACK, 1UL);

  direction_t down = {.name = "down"}, up = {.name = "up"};
  parse_direction(&down, down_spec);
  parse_direction(&up, up_spec);
  /* Independent streams per direction so one side's traffic never shifts the
   * other side's loss pattern. */
  down.rng.state = seed * 2 + 1;
  up.rng.state = seed * 2 + 2;

  int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) die("/proc/self/ns/net");
  int fd_a = open_tun_in(ns_a, dev, home);
  int fd_b = open_tun_in(ns_b, dev, home);
  close(home);
  down.in_fd = fd_a;
  down.out_fd = fd_b;
  up.in_fd = fd_b;
  up.out_fd = fd_a;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* Signals stay blocked except inside ppoll, so none is lost between checks. */
  sigset_t blocked, waitmask;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGHUP);
  sigaddset(&blocked, SIGUSR1);
  sigprocmask(SIG_BLOCK, &blocked, &waitmask);
  sigdelset(&waitmask, SIGTERM);
  sigdelset(&waitmask, SIGINT);
  sigdelset(&waitmask, SIGHUP);
  sigdelset(&waitmask, SIGUSR1);

  fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
  start_ns = now_ns();
  printf("{\"event\":\"ready\",\"pid\":%d}\n", (int)getpid());
  fflush(stdout);

  char line[256];
  size_t line_len = 0;
  int quit = 0, orphaned = 0;
  while (!quit && !got_term) {
    uint64_t now = now_ns();
    deliver_due(&down, now);
    deliver_due(&up, now);
    if (got_usr1) {
      got_usr1 = 0;
      print_counters("counters", &down, &up);
    }

    uint64_t next = UINT64_MAX;
    if (down.in_flight.len > 0) next = down.in_flight.items[0]->deliver_ns;
    if (up.in_flight.len > 0 && up.in_flight.items[0]->deliver_ns < next) next = up.in_flight.items[0]->deliver_ns;
    struct timespec timeout, *tp = NULL;
    if (next != UINT64_MAX) {
      uint64_t wait = next > now ? next - now : 0;
      timeout.tv_sec = (time_t)(wait / 1000000000ull);
      timeout.tv_nsec = (long)(wait % 1000000000ull);
      tp = &timeout;
    }

    struct pollfd fds[3] = {
        {.fd = fd_a, .events = POLLIN}, {.fd = fd_b, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
    int n = ppoll(fds, 3, tp, &waitmask);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("ppoll");
    }
    now = now_ns();
    if (fds[0].revents & POLLIN) read_packets(&down, now);
    if (fds[1].revents & POLLIN) read_packets(&up, now);
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      char chunk[256];
      ssize_t got = read(STDIN_FILENO, chunk, sizeof chunk);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        orphaned = 1;
        break;
      }
      for (ssize_t i = 0; i < got && !quit; i++) {
        if (chunk[i] == '\n') {
          line[line_len] = '\0';
          quit = handle_command(line, &down, &up);
          line_len = 0;
        } else if (line_len + 1 < sizeof line) {
          line[line_len++] = chunk[i];
        }
      }
    }
  }

  print_counters("exit", &down, &up);
  close(fd_a);
  close(fd_b);
  /* Without an explicit "quit" the wrapper died or was killed: nobody else
   * will delete our namespaces. */
  if (!quit || orphaned) cleanup_namespaces();
  return 0;
}
