/* The floor for the runtime's load benchmark: the least work an HTTP/1.1
 * server can do per request on this machine, with no parser, no routing and
 * no core call. One thread, epoll, non-blocking sockets; a request is its
 * head up to "\r\n\r\n" plus Content-Length bytes of body (no chunking, no
 * validation); every request gets the same 2-byte 200 answer, keep-alive,
 * and pipelined requests are answered in one write.
 *
 * It is a measuring stick, not a server: it trusts its input. Run it under the
 * same wrk command as the runtime (inject_load.sh's post.lua) and the
 * difference is what the runtime's HTTP layer, routing and core cost.
 *
 * build: cc -O2 -o floor_server runtime-server/bench/floor_server.c
 * usage: floor_server PORT   (prints "http://127.0.0.1:PORT" when listening)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kBufferBytes = 64 * 1024, kMaxEvents = 64 };

struct connection {
  int fd;
  size_t used;
  char in[kBufferBytes];
  char out[kBufferBytes];
};

static const char kAnswer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

/* Length of the first complete request in buf[0..used), or 0 if incomplete. */
static size_t complete_request(const char *buf, size_t used) {
  const char *end = memmem(buf, used, "\r\n\r\n", 4);
  if (end == NULL) return 0;
  size_t head = (size_t)(end - buf) + 4;
  size_t body = 0;
  const char *p = buf;
  while (p < end) {
    const char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
    if (eol == NULL) break;
    if ((size_t)(eol - p) > 15 && strncasecmp(p, "content-length:", 15) == 0) body = strtoul(p + 15, NULL, 10);
    p = eol + 2;
  }
  return used >= head + body ? head + body : 0;
}

static void serve(struct connection *c) {
  for (;;) {
    ssize_t n = recv(c->fd, c->in + c->used, sizeof c->in - c->used, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      close(c->fd);
      free(c);
      return;
    }
    if (n < 0) return; /* EAGAIN: wait for the next readiness */
    c->used += (size_t)n;
    size_t out = 0, len;
    while ((len = complete_request(c->in, c->used)) > 0) {
      memcpy(c->out + out, kAnswer, sizeof kAnswer - 1);
      out += sizeof kAnswer - 1;
      memmove(c->in, c->in + len, c->used - len);
      c->used -= len;
    }
    if (out > 0 && send(c->fd, c->out, out, MSG_NOSIGNAL) != (ssize_t)out) {
      close(c->fd);
      free(c);
      return;
    }
    if ((size_t)n < sizeof c->in) return; /* drained: edge-triggered wait */
  }
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 1024) != 0) {
    perror("floor_server: bind/listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(listener, (struct sockaddr *)&addr, &alen);
  printf("http://127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  struct epoll_event events[kMaxEvents];
  for (;;) {
    int n = epoll_wait(ep, events, kMaxEvents, -1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr != NULL) {
        serve(events[i].data.ptr);
        continue;
      }
      int fd;
      while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct connection *c = calloc(1, sizeof *c);
        c->fd = fd;
        struct epoll_event cev = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
      }
    }
  }
}
