/*
 * TCP Fast Open for lowband (Linux): a reconnecting phone's CONNECT rides its SYN, so the CONNACK
 * and the backlog behind it arrive one round trip after the reconnect instead of two. Node's net
 * module cannot set a socket option before connect(), nor TCP_FASTOPEN on a listening socket.
 *
 *   connect(ipv4, port) -> fd, or -errno: a non-blocking socket with TCP_FASTOPEN_CONNECT; the
 *     kernel sends no SYN yet, the first write leaves in it (with a cookie from an earlier
 *     connection to the address; without one, a normal handshake that asks for a cookie).
 *   state(fd) -> the socket's TCP state (TCP_INFO tcpi_state; 1 = established), or -errno.
 *   listen(fd, queue) -> 0 or -errno: TCP_FASTOPEN on a listening socket, at most `queue`
 *     connections accepted on their SYN's data and not yet through the handshake.
 */
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif

static napi_value int_value(napi_env env, int value) {
  napi_value out;
  napi_create_int32(env, value, &out);
  return out;
}

static int int_arg(napi_env env, napi_value value) {
  int32_t out = -1;
  napi_get_value_int32(env, value, &out);
  return out;
}

static napi_value fast_connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char host[INET_ADDRSTRLEN] = {0};
  size_t length = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &length) != napi_ok) return int_value(env, -EINVAL);
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons((uint16_t)int_arg(env, argv[1]));
  if (inet_pton(AF_INET, host, &address.sin_addr) != 1) return int_value(env, -EINVAL);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return int_value(env, -errno);
  int on = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &on, sizeof on) != 0 ||
      (connect(fd, (struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS)) {
    int error = errno;
    close(fd);
    return int_value(env, -error);
  }
  return int_value(env, fd);
}

static napi_value tcp_state(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct tcp_info tcp;
  socklen_t size = sizeof tcp;
  if (argc < 1 || getsockopt(int_arg(env, argv[0]), IPPROTO_TCP, TCP_INFO, &tcp, &size) != 0) return int_value(env, -errno);
  return int_value(env, tcp.tcpi_state);
}

static napi_value fast_listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return int_value(env, -EINVAL);
  int queue = int_arg(env, argv[1]);
  if (setsockopt(int_arg(env, argv[0]), IPPROTO_TCP, TCP_FASTOPEN, &queue, sizeof queue) != 0) return int_value(env, -errno);
  return int_value(env, 0);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor functions[] = {
    { "connect", NULL, fast_connect, NULL, NULL, NULL, napi_default, NULL },
    { "state", NULL, tcp_state, NULL, NULL, NULL, napi_default, NULL },
    { "listen", NULL, fast_listen, NULL, NULL, NULL, napi_default, NULL }
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}
