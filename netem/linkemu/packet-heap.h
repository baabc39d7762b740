/*
 * The delay line of one direction of linkemu: packets ordered by delivery
 * time (a binary min-heap). Jitter and reordering make delivery times
 * non-monotonic, so a plain FIFO would not do.
 */
#ifndef LINKEMU_PACKET_HEAP_H
#define LINKEMU_PACKET_HEAP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  uint64_t deliver_ns;
  uint64_t seq; /* tie-break: equal delivery times keep arrival order */
  uint32_t len;
  unsigned char data[];
} packet_t;

typedef struct {
  packet_t **items;
  size_t len;
  size_t cap;
} packet_heap_t;

static int packet_before(const packet_t *a, const packet_t *b) {
  return a->deliver_ns < b->deliver_ns || (a->deliver_ns == b->deliver_ns && a->seq < b->seq);
}

static void heap_push(packet_heap_t *h, packet_t *p) {
  if (h->len == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 256;
    h->items = realloc(h->items, h->cap * sizeof *h->items);
    if (!h->items) {
      fprintf(stderr, "linkemu: out of memory\n");
      exit(1);
    }
  }
  size_t i = h->len++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (packet_before(h->items[parent], p)) break;
    h->items[i] = h->items[parent];
    i = parent;
  }
  h->items[i] = p;
}

/* Removes and returns the earliest packet; the heap must not be empty. */
static packet_t *heap_pop(packet_heap_t *h) {
  packet_t *top = h->items[0];
  packet_t *last = h->items[--h->len];
  size_t i = 0;
  for (;;) {
    size_t left = 2 * i + 1, right = left + 1, next = i;
    const packet_t *best = last;
    if (left < h->len && packet_before(h->items[left], best)) {
      next = left;
      best = h->items[left];
    }
    if (right < h->len && packet_before(h->items[right], best)) next = right;
    if (next == i) break;
    h->items[i] = h->items[next];
    i = next;
  }
  if (h->len > 0) h->items[i] = last;
  return top;
}

#endif
