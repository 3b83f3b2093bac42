/*
 * The N-API glue: every argument from JavaScript is checked here (a wrong type, a
 * detached buffer, a huge count, a closed handle all become an error number, never a
 * crash), then handed to the platform code. Results are numbers: a byte count or
 * handle (>= 0), or a negated error code.
 */
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#ifndef _WIN32
#include <uv.h>
#endif

#define MAX_ARGS 8

/* Reads up to MAX_ARGS arguments; missing ones are undefined. */
static size_t get_args(napi_env env, napi_callback_info info, napi_value* argv) {
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  napi_value undef;
  napi_get_undefined(env, &undef);
  for (size_t i = argc; i < MAX_ARGS; i++) argv[i] = undef;
  return argc;
}

static napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static napi_value fail(napi_env env, int err) { return num(env, -(double)err); }

/* An integral JavaScript number in [lo, hi], or false. */
static int get_int(napi_env env, napi_value v, double lo, double hi, double* out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= lo && d <= hi) || d != (double)(int64_t)d) return 0;
  *out = d;
  return 1;
}

/* The bytes of a Uint8Array (a Buffer is one), or false. A detached one has no bytes. */
static int get_bytes(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  size_t length;
  void* ptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array && type != napi_uint8_clamped_array && type != napi_int8_array) return 0;
  *data = (uint8_t*)ptr;
  *len = length;
  return length == 0 || ptr != NULL;
}

static int get_handle(napi_env env, napi_value v, ws_handle* h) {
  double d;
#ifdef _WIN32
  if (!get_int(env, v, 0, 9007199254740991.0, &d)) return 0;
#else
  if (!get_int(env, v, 0, 2147483647.0, &d)) return 0; /* an fd is an int */
#endif
  *h = (ws_handle)d;
  return 1;
}

static int get_family(napi_env env, napi_value v, int* family) {
  double d;
  if (!get_int(env, v, 4, 6, &d) || (d != 4 && d != 6)) return 0;
  *family = (int)d;
  return 1;
}

/* An endpoint from (family, address bytes, port). */
static int get_endpoint(napi_env env, napi_value fam, napi_value addr, napi_value port, ws_endpoint* ep) {
  uint8_t* data;
  size_t len;
  double p;
  memset(ep, 0, sizeof(*ep));
  if (!get_family(env, fam, &ep->family)) return WS_ERR_INVAL;
  if (!get_bytes(env, addr, &data, &len) || len < (ep->family == 4 ? 4u : 16u)) return WS_ERR_FAULT;
  if (!get_int(env, port, 0, 65535, &p)) return WS_ERR_INVAL;
  memcpy(ep->addr, data, ep->family == 4 ? 4 : 16);
  ep->port = (uint16_t)p;
  return 0;
}

/*
 * Per environment (its napi instance data): the sockets it opened and has not closed,
 * so that its teardown closes them; on POSIX its live watchers, whose uv_poll handles
 * must be closed (and their close callbacks run) before Node may unload the addon; on
 * Windows the completion path to JavaScript. A worker's environment can end at any time.
 */
typedef struct ws_env ws_env;
#ifdef _WIN32
typedef struct win_op win_op;
#else
typedef struct ws_watch ws_watch;
#endif

struct ws_env {
  napi_env env;
  /* Each socket is closed once, by whoever removes it from here first (JavaScript's
     close or the teardown): a number closed already may be another thread's socket. */
  ws_handle_set sockets;
  int ending; /* teardown began: nothing new is opened */
#ifdef _WIN32
  napi_threadsafe_function tsfn;
  napi_ref callback;  /* (id, status, bytes, flags) => void, or NULL */
  SRWLOCK lock;       /* guards live, tsfn_alive and receiving against the port's thread */
  int live;           /* completions may still be queued to tsfn */
  int tsfn_alive;     /* tsfn not finalized yet */
  uint32_t pending;   /* pending sends and receives (JavaScript thread only) */
  volatile LONG refs; /* the environment, the tsfn, and each pending op */
  win_op* receiving;  /* pending receives, whose buffers Winsock may still write */
  CONDITION_VARIABLE drained; /* signalled as receives leave `receiving` */
#else
  ws_watch* watchers; /* watchers whose poll handle is not closing yet */
  uint32_t closing;   /* uv_close calls whose callback has not run yet */
  napi_async_cleanup_hook_handle hook; /* held until the teardown is done */
#endif
};

static ws_env* env_of(napi_env env) {
  void* data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return (ws_env*)data;
}

/* A socket the teardown found open: nobody is left to hear how its close went. */
static void close_quietly(ws_handle h) { (void)ws_close(h); }

/* open(family) -> handle | -err */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  int family;
  if (!get_family(env, argv[0], &family)) return fail(env, WS_ERR_INVAL);
  ws_env* c = env_of(env);
  if (!c || c->ending) return fail(env, WS_ERR_NETDOWN);
  ws_handle h;
  int err = ws_open(family, &h);
  if (!err && (err = ws_set_add(&c->sockets, h)) != 0) ws_close(h);
  return err ? fail(env, err) : num(env, (double)h);
}

/* bind(handle, family, addrBytes, port) -> 0 | -err */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  ws_endpoint ep;
  if (!get_handle(env, argv[0], &h)) return fail(env, WS_ERR_INVAL);
  int err = get_endpoint(env, argv[1], argv[2], argv[3], &ep);
  if (!err) err = ws_bind(h, &ep);
  return err ? fail(env, err) : num(env, 0);
}

/* localAddress(handle, family, out16) -> port | -err; the address bytes go to out16. */
static napi_value js_local_address(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  int family;
  uint8_t* out;
  size_t len;
  if (!get_handle(env, argv[0], &h) || !get_family(env, argv[1], &family)) return fail(env, WS_ERR_INVAL);
  if (!get_bytes(env, argv[2], &out, &len) || len < 16) return fail(env, WS_ERR_FAULT);
  ws_endpoint ep;
  int err = ws_local_address(h, family, &ep);
  if (err) return fail(env, err);
  memcpy(out, ep.addr, 16);
  return num(env, ep.port);
}

/* setOption(handle, family, option, value) -> 0 | -err */
static napi_value js_set_option(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  int family;
  double option, value;
  if (!get_handle(env, argv[0], &h) || !get_family(env, argv[1], &family) || !get_int(env, argv[2], 0, WS_OPT_LAST, &option) ||
      !get_int(env, argv[3], 0, 2147483647.0, &value))
    return fail(env, WS_ERR_INVAL);
  int err = ws_set_option(h, family, (int)option, (int)value);
  return err ? fail(env, err) : num(env, 0);
}

/* getOption(handle, family, option) -> value | -err */
static napi_value js_get_option(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  int family, value = 0;
  double option;
  if (!get_handle(env, argv[0], &h) || !get_family(env, argv[1], &family) || !get_int(env, argv[2], 0, WS_OPT_LAST, &option))
    return fail(env, WS_ERR_INVAL);
  int err = ws_get_option(h, family, (int)option, &value);
  return err ? fail(env, err) : num(env, value);
}

/*
 * Fills bufs from an array of Uint8Arrays: pointers to the caller's bytes, no copy.
 * Returns the count, or -err.
 */
/* Pointers of views read earlier: no JavaScript may run between this and the system call. */
static int views_to_bufs(napi_env env, const napi_value* values, uint32_t n, ws_buf* bufs, size_t* total) {
  *total = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t* data;
    size_t len;
    if (values[i] == NULL || !get_bytes(env, values[i], &data, &len)) return WS_ERR_FAULT;
    WS_BUF_SET(&bufs[i], data, len);
    *total += len;
  }
  return 0;
}

/* Reads the elements of an array (getters run here), at most max; the count, or -err. */
static int64_t collect(napi_env env, napi_value array, napi_value* out, uint32_t max) {
  bool is_array = false;
  uint32_t n;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array) return -WS_ERR_FAULT;
  if (napi_get_array_length(env, array, &n) != napi_ok) return -WS_ERR_FAULT;
  if (n > max) return -WS_ERR_INVAL;
  for (uint32_t i = 0; i < n; i++)
    if (napi_get_element(env, array, i, &out[i]) != napi_ok) return -WS_ERR_FAULT;
  return n;
}

/* Every element first (getters may run), then the pointers (no JavaScript runs). */
static int64_t fill_bufs(napi_env env, napi_value views, ws_buf* bufs, uint32_t max, size_t* total) {
  napi_value stack_values[16];
  napi_value* values = max > 16 ? (napi_value*)calloc(max, sizeof(napi_value)) : stack_values;
  if (!values) return -WS_ERR_NOMEM;
  int64_t n = collect(env, views, values, max);
  if (n >= 0) {
    int err = views_to_bufs(env, values, (uint32_t)n, bufs, total);
    if (err) n = -err;
  }
  if (values != stack_values) free(values);
  return n;
}

#ifdef _WIN32
/*
 * Windows: sends are overlapped WSASendTo calls that complete at once or later through
 * the completion port (win.c). Per environment (ws_env): a thread-safe function that
 * carries completions from the port's thread to JavaScript (referenced while any send is
 * pending, so that a pending send keeps Node alive), and the callback that onComplete
 * registered. The ws_env lives until the environment, its thread-safe function and
 * every op that points to it are gone (refs).
 */
/* A pending send or receive: the platform's op first (win.c frees a failed one with free()). */
struct win_op {
  ws_op op;
  ws_env* owner;
  napi_ref views; /* an array holding the views (and a receive's out): alive while in flight */
  double id;
  int family;         /* a receive's socket family */
  uint32_t out_index; /* where a receive's out sits in `views` */
  int listed;         /* in owner->receiving */
  win_op* prev;
  win_op* next;
};

static void win_env_unref(ws_env* c) {
  if (InterlockedDecrement(&c->refs) == 0) free(c);
}

/* Unlinks a receive from its environment's pending list (under the lock). */
static void win_unlist(ws_env* c, win_op* op) {
  if (!op->listed) return;
  if (op->prev) op->prev->next = op->next;
  else c->receiving = op->next;
  if (op->next) op->next->prev = op->prev;
  op->listed = 0;
  op->prev = op->next = NULL;
  WakeAllConditionVariable(&c->drained);
}

/* Port thread (or ws_op_arm): hand the completion to the environment's JavaScript thread. */
void ws_op_done(ws_op* o) {
  win_op* op = (win_op*)o;
  ws_env* c = op->owner;
  int queued = 0;
  AcquireSRWLockExclusive(&c->lock);
  /* Winsock is done with the buffers: the environment's teardown need not wait for it. */
  win_unlist(c, op);
  if (c->live) queued = napi_call_threadsafe_function(c->tsfn, op, napi_tsfn_nonblocking) == napi_ok;
  ReleaseSRWLockExclusive(&c->lock);
  if (!queued) {
    /* The environment is going away: nobody to tell; its references die with it. */
    free(op);
    win_env_unref(c);
  }
}

/*
 * A receive's out-parameter (24 bytes): the source address (0..15), port (16..17,
 * big-endian), family (18), whether the datagram was truncated (19), the message flags
 * (20..23, little-endian).
 */
static void win_write_received(uint8_t* out, const ws_recv_result* r) {
  memcpy(out, r->from.addr, 16);
  out[16] = (uint8_t)(r->from.port >> 8);
  out[17] = (uint8_t)(r->from.port & 0xff);
  out[18] = (uint8_t)r->from.family;
  out[19] = (uint8_t)(r->status == WSAEMSGSIZE ? 1 : 0);
  for (int i = 0; i < 4; i++) out[20 + i] = (uint8_t)(r->flags >> (8 * i));
}

/* Writes a completed receive's result into the out kept at views[index] (if still there). */
static void win_write_kept(napi_env env, napi_ref views, uint32_t index, const ws_recv_result* r) {
  napi_value array, out;
  uint8_t* data;
  size_t len;
  if (napi_get_reference_value(env, views, &array) != napi_ok || !array) return;
  if (napi_get_element(env, array, index, &out) != napi_ok || !get_bytes(env, out, &data, &len) || len < 24) return;
  win_write_received(data, r);
}

/* JavaScript thread: one completion, exactly once per pending send or receive. */
static void win_call_js(napi_env env, napi_value js_cb, void* context, void* data) {
  (void)js_cb;
  ws_env* c = (ws_env*)context;
  win_op* op = (win_op*)data;
  double id = op->id;
  int status = op->op.status;
  uint32_t bytes = op->op.bytes;
  napi_ref views = op->views;
  int receive = op->op.receive;
  uint32_t out_index = op->out_index;
  ws_recv_result r;
  memset(&r, 0, sizeof(r));
  if (receive) ws_recv_result_of(&op->op, op->family, &r);
  free(op);
  if (env) {
    if (views) {
      if (receive) win_write_kept(env, views, out_index, &r);
      napi_delete_reference(env, views);
    }
    if (c->pending > 0 && --c->pending == 0) napi_unref_threadsafe_function(env, c->tsfn);
    napi_value cb = NULL;
    if (c->callback && napi_get_reference_value(env, c->callback, &cb) == napi_ok && cb) {
      napi_value recv, argv[4], result;
      napi_get_undefined(env, &recv);
      napi_create_double(env, id, &argv[0]);
      napi_create_int32(env, status, &argv[1]);
      napi_create_double(env, (double)bytes, &argv[2]);
      napi_create_double(env, (double)r.flags, &argv[3]);
      napi_call_function(env, recv, cb, 4, argv, &result);
    }
  }
  win_env_unref(c);
}

static void win_tsfn_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  ws_env* c = (ws_env*)data;
  AcquireSRWLockExclusive(&c->lock);
  c->live = 0;
  c->tsfn_alive = 0;
  ReleaseSRWLockExclusive(&c->lock);
  win_env_unref(c);
}

/* How long an environment's teardown waits for its cancelled receives to let go. */
#define WIN_DRAIN_MS 2000

/*
 * Environment teardown: no more completions to JavaScript; the port stops with the last
 * one. The environment's sockets close (ws_close cancels their pending operations first,
 * which then complete, aborted, through the port as usual, holding their own references).
 * Pending receives are cancelled, and awaited (bounded): Winsock must be done writing
 * into their buffers before the environment frees them. No libuv handle is involved, so
 * the hook can be synchronous.
 */
static void win_env_cleanup(void* arg) {
  ws_env* c = (ws_env*)arg;
  c->ending = 1;
  AcquireSRWLockExclusive(&c->lock);
  int alive = c->tsfn_alive;
  c->live = 0;
  ReleaseSRWLockExclusive(&c->lock);
  ws_set_drain(&c->sockets, close_quietly);
  AcquireSRWLockExclusive(&c->lock);
  /* What is still pending was posted on sockets this environment does not own: cancel it. */
  for (win_op* op = c->receiving; op; op = op->next) ws_op_cancel(&op->op);
  ULONGLONG deadline = GetTickCount64() + WIN_DRAIN_MS;
  while (c->receiving) {
    ULONGLONG now = GetTickCount64();
    if (now >= deadline || !SleepConditionVariableSRW(&c->drained, &c->lock, (DWORD)(deadline - now), 0)) break;
  }
  ReleaseSRWLockExclusive(&c->lock);
  if (alive) napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
  if (c->callback) napi_delete_reference(c->env, c->callback);
  c->callback = NULL;
  ws_platform_release();
  win_env_unref(c);
}

static int win_env_init(napi_env env) {
  ws_env* c = (ws_env*)calloc(1, sizeof(ws_env));
  if (!c) return WS_ERR_NOMEM;
  c->env = env;
  InitializeSRWLock(&c->lock);
  InitializeConditionVariable(&c->drained);
  napi_value name;
  napi_create_string_utf8(env, "wsasendto:completion", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, c, win_tsfn_finalize, c, win_call_js, &c->tsfn) !=
      napi_ok) {
    free(c);
    return WS_ERR_NOMEM;
  }
  c->live = 1;
  c->tsfn_alive = 1;
  c->refs = 2; /* the environment and the tsfn */
  napi_unref_threadsafe_function(env, c->tsfn);
  if (napi_set_instance_data(env, c, NULL, NULL) != napi_ok || napi_add_env_cleanup_hook(env, win_env_cleanup, c) != napi_ok) {
    napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
    win_env_unref(c);
    return WS_ERR_NOMEM;
  }
  return 0;
}

/* onComplete(callback) -> 0 | -err: this thread's completion callback, (id, status, bytes, flags). */
static napi_value js_on_complete(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) return fail(env, WS_ERR_INVAL);
  ws_env* c = env_of(env);
  if (!c) return fail(env, WSAENETDOWN);
  napi_ref ref;
  if (napi_create_reference(env, argv[0], 1, &ref) != napi_ok) return fail(env, WS_ERR_NOMEM);
  if (c->callback) napi_delete_reference(env, c->callback);
  c->callback = ref;
  return num(env, 0);
}

/*
 * The views of one send or receive: WSABUFs pointing into the caller's bytes (no copy),
 * and the very view objects they came from, to keep alive while the operation is in
 * flight. Each view is read once.
 */
typedef struct {
  uint32_t n;
  ws_buf* bufs;
  napi_value* views;
  void* heap;
  ws_buf stack_bufs[16];
  napi_value stack_views[16];
} win_views;

/* A JavaScript exception that a hostile argument raised becomes an error number. */
static int win_clear(napi_env env, int err) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  return err;
}

/* Reads an array of Uint8Arrays into v; 0 or a WSA code. win_views_free afterwards, always. */
static int win_views_read(napi_env env, napi_value array, win_views* v) {
  bool is_array = false;
  v->n = 0;
  v->bufs = v->stack_bufs;
  v->views = v->stack_views;
  v->heap = NULL;
  uint32_t n;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array || napi_get_array_length(env, array, &n) != napi_ok)
    return win_clear(env, WS_ERR_FAULT);
  if (n > WS_MAX_BUFS) return WS_ERR_INVAL;
  if (n > 16) {
    v->heap = malloc((sizeof(ws_buf) + sizeof(napi_value)) * n);
    if (!v->heap) return WS_ERR_NOMEM;
    v->bufs = (ws_buf*)v->heap;
    v->views = (napi_value*)(v->bufs + n);
  }
  /* Every element first (a getter may run and detach a view), then the pointers (no
     JavaScript runs between them and the system call). */
  for (uint32_t i = 0; i < n; i++)
    if (napi_get_element(env, array, i, &v->views[i]) != napi_ok) return win_clear(env, WS_ERR_FAULT);
  for (uint32_t i = 0; i < n; i++) {
    uint8_t* data;
    size_t len;
    if (!get_bytes(env, v->views[i], &data, &len)) return win_clear(env, WS_ERR_FAULT);
    if (len > 0xFFFFFFFFu) return WSAEMSGSIZE; /* a WSABUF holds at most 4 GiB - 1 */
    WS_BUF_SET(&v->bufs[i], data, len);
  }
  v->n = n;
  return 0;
}

static void win_views_free(win_views* v) { free(v->heap); }

/* A reference to a new array of the views (and `extra` after them, if any), or NULL. */
static napi_ref win_views_keep(napi_env env, const win_views* v, napi_value extra) {
  napi_value keep;
  napi_ref ref = NULL;
  if (napi_create_array_with_length(env, v->n + (extra ? 1 : 0), &keep) != napi_ok) return NULL;
  for (uint32_t i = 0; i < v->n; i++) napi_set_element(env, keep, i, v->views[i]);
  if (extra) napi_set_element(env, keep, v->n, extra);
  napi_create_reference(env, keep, 1, &ref);
  return ref;
}

/* A pending op's bookkeeping: the environment and the tsfn stay while it is in flight. */
static void win_op_pending(napi_env env, ws_env* c) {
  InterlockedIncrement(&c->refs);
  if (c->pending++ == 0) napi_ref_threadsafe_function(env, c->tsfn);
}

/*
 * send(handle, family, views, addrBytes, port, flags, id) -> bytes | -WSA_IO_PENDING | -err.
 * Checks as POSIX's send does, plus the id. The views are read once: the same objects
 * fill the WSABUFs and, when the send is pending, the array that keeps them alive.
 */
static napi_value js_send_win(napi_env env, napi_callback_info info) {
  (void)fill_bufs; /* POSIX's way: Windows reads the views itself (win_views_read) */
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  ws_endpoint to;
  double flags, id;
  if (!get_handle(env, argv[0], &h) || !get_int(env, argv[5], 0, 4294967295.0, &flags) ||
      !get_int(env, argv[6], 0, 9007199254740991.0, &id))
    return fail(env, WS_ERR_INVAL);
  int err = get_endpoint(env, argv[1], argv[3], argv[4], &to);
  if (err) return fail(env, err);
  ws_env* c = env_of(env);
  if (!c) return fail(env, WSAENETDOWN);
  win_views v;
  err = win_views_read(env, argv[2], &v);
  size_t sent = 0;
  win_op* op = err ? NULL : (win_op*)calloc(1, sizeof(win_op));
  if (!err && !op) err = WS_ERR_NOMEM;
  if (!err) {
    op->owner = c;
    op->id = id;
    err = ws_send_overlapped(h, v.bufs, v.n, &to, (int)flags, &op->op, &sent);
    if (err == 0) {
      free(op);
    } else if (err == WSA_IO_PENDING) {
      /* In flight: keep the very views the WSABUFs point into, until the completion. */
      op->views = win_views_keep(env, &v, NULL);
      win_op_pending(env, c);
      ws_op_arm(&op->op);
    }
    /* Any other error: failed at once, and op is win.c's to free. */
  }
  win_views_free(&v);
  return err ? fail(env, err) : num(env, (double)sent);
}

/*
 * sendNow(handle, family, views, addrBytes, port, flags) -> bytes | -err: a non-blocking
 * socket's send, answered during the call (a non-overlapped WSASendTo on the FIONBIO
 * socket: no packet follows); -WSAEWOULDBLOCK when Winsock has no room now (nothing sent).
 * Checks as send does, without the id. The views are read once, as send reads them.
 */
static napi_value js_send_now_win(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  ws_endpoint to;
  double flags;
  if (!get_handle(env, argv[0], &h) || !get_int(env, argv[5], 0, 4294967295.0, &flags)) return fail(env, WS_ERR_INVAL);
  int err = get_endpoint(env, argv[1], argv[3], argv[4], &to);
  if (err) return fail(env, err);
  win_views v;
  err = win_views_read(env, argv[2], &v);
  size_t sent = 0;
  if (!err) err = ws_send(h, v.bufs, v.n, &to, (int)flags, &sent);
  win_views_free(&v);
  return err ? fail(env, err) : num(env, (double)sent);
}

/* writable(handle) -> 1 | 0 | -err: whether a send would be taken now (select, zero timeout). */
static napi_value js_writable_win(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  if (!get_handle(env, argv[0], &h)) return fail(env, WS_ERR_INVAL);
  int writable = 0;
  int err = ws_writable(h, &writable);
  return err ? fail(env, err) : num(env, writable);
}

/*
 * recvOverlapped(handle, family, views, flags, id, out24) -> bytes | -WSA_IO_PENDING | -err.
 * One overlapped WSARecvFrom straight into the views (no copy); flags MSG_PEEK passes
 * through. bytes >= 0: completed at once, out24 filled (truncated with WSAEMSGSIZE and
 * MSG_PARTIAL, see win_write_received). -WSA_IO_PENDING: the completion comes through
 * onComplete with this id, (id, status, bytes, flags), out24 filled first; the views and
 * out24 stay referenced until then. Another -err: failed at once, nothing received.
 */
static napi_value js_recv_win(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  int family;
  double flags, id;
  uint8_t* out;
  size_t out_len;
  if (!get_handle(env, argv[0], &h) || !get_family(env, argv[1], &family) ||
      !get_int(env, argv[3], 0, 4294967295.0, &flags) || !get_int(env, argv[4], 0, 9007199254740991.0, &id))
    return fail(env, WS_ERR_INVAL);
  if (!get_bytes(env, argv[5], &out, &out_len) || out_len < 24) return fail(env, WS_ERR_FAULT);
  ws_env* c = env_of(env);
  if (!c) return fail(env, WSAENETDOWN);
  win_views v;
  int err = win_views_read(env, argv[2], &v);
  uint32_t got = 0;
  win_op* op = err ? NULL : (win_op*)calloc(1, sizeof(win_op));
  if (!err && !op) err = WS_ERR_NOMEM;
  if (!err) {
    op->owner = c;
    op->id = id;
    op->family = family;
    op->out_index = v.n;
    ws_recv_result now;
    err = ws_recv_overlapped(h, family, v.bufs, v.n, (int)flags, &op->op, &now);
    if (err == 0 || err == WSAEMSGSIZE) {
      /* Completed at once (the op is freed here, or by win.c after a truncation). */
      if (err == 0) free(op);
      win_write_received(out, &now);
      got = now.bytes;
      err = 0;
    } else if (err == WSA_IO_PENDING) {
      /* Queued: Winsock writes into the views when a datagram comes; keep them, and out. */
      op->views = win_views_keep(env, &v, argv[5]);
      win_op_pending(env, c);
      AcquireSRWLockExclusive(&c->lock);
      op->next = c->receiving;
      if (op->next) op->next->prev = op;
      c->receiving = op;
      op->listed = 1;
      ReleaseSRWLockExclusive(&c->lock);
      ws_op_arm(&op->op);
    }
    /* Any other error: failed at once, and op is win.c's to free. */
  }
  win_views_free(&v);
  return err ? fail(env, err) : num(env, (double)got);
}

/*
 * recv(handle, family, views, peek, out24) -> bytes that fit | -err, as POSIX's recv: one
 * datagram during the call (a non-overlapped WSARecvFrom on the non-blocking socket; no
 * packet follows), -WSAEWOULDBLOCK when nothing waits. out24 as recvOverlapped fills it:
 * 19 whether the datagram was truncated (the bytes that fit are returned), 20..23 the
 * message flags (MSG_PARTIAL then), not the whole length, which Winsock does not tell.
 */
static napi_value js_recv_now_win(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  int family;
  bool peek = false;
  if (!get_handle(env, argv[0], &h) || !get_family(env, argv[1], &family) || napi_get_value_bool(env, argv[3], &peek) != napi_ok)
    return fail(env, WS_ERR_INVAL);
  win_views v;
  int err = win_views_read(env, argv[2], &v);
  /* out last: no getter of the views can detach it after its pointer is taken. */
  uint8_t* out = NULL;
  size_t out_len = 0;
  if (!err && (!get_bytes(env, argv[4], &out, &out_len) || out_len < 24)) err = WS_ERR_FAULT;
  ws_recv_result r;
  memset(&r, 0, sizeof(r));
  if (!err) err = ws_recv_now(h, family, v.bufs, v.n, peek ? 1 : 0, &r);
  win_views_free(&v);
  if (err) return fail(env, err);
  win_write_received(out, &r);
  return num(env, (double)r.bytes);
}

/* pending(handle) -> FIONREAD (the bytes of every datagram waiting) | -err. */
static napi_value js_pending_win(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  if (!get_handle(env, argv[0], &h)) return fail(env, WS_ERR_INVAL);
  uint32_t bytes = 0;
  int err = ws_pending(h, &bytes);
  return err ? fail(env, err) : num(env, bytes);
}

/*
 * cancelReceive(id) -> 0 | -WSA_INVALID_HANDLE: asks Winsock to cancel the pending receive
 * posted with this id (CancelIoEx). It then completes through the port as usual: aborted,
 * or with its datagram if it had one already. Only this environment's pending receives are
 * looked at, under the lock the port's thread takes to unlist a completed one.
 */
static napi_value js_cancel_receive(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  double id;
  ws_env* c = env_of(env);
  if (!c || !get_int(env, argv[0], 0, 9007199254740991.0, &id)) return fail(env, WS_ERR_INVAL);
  int found = 0;
  AcquireSRWLockExclusive(&c->lock);
  for (win_op* op = c->receiving; op && !found; op = op->next) {
    if (op->id != id) continue;
    ws_op_cancel(&op->op);
    found = 1;
  }
  ReleaseSRWLockExclusive(&c->lock);
  return found ? num(env, 0) : fail(env, WSA_INVALID_HANDLE);
}

/* setConnReset(handle, on) -> 0 | -err: WSAIoctl(SIO_UDP_CONNRESET) with the BOOL `on`. */
static napi_value js_set_conn_reset(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  double on;
  if (!get_handle(env, argv[0], &h) || !get_int(env, argv[1], 0, 1, &on)) return fail(env, WS_ERR_INVAL);
  int err = ws_set_conn_reset(h, (int)on);
  return err ? fail(env, err) : num(env, 0);
}
#endif

/* send(handle, family, views, addrBytes, port, flags) -> bytes | -err */
static napi_value js_send(napi_env env, napi_callback_info info) {
#ifdef _WIN32
  return js_send_win(env, info);
#else
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  ws_endpoint to;
  double flags;
  if (!get_handle(env, argv[0], &h) || !get_int(env, argv[5], 0, 4294967295.0, &flags)) return fail(env, WS_ERR_INVAL);
  int err = get_endpoint(env, argv[1], argv[3], argv[4], &to);
  if (err) return fail(env, err);
  ws_buf stack_bufs[16];
  ws_buf* bufs = stack_bufs;
  uint32_t n;
  bool is_array = false;
  if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[2], &n) != napi_ok)
    return fail(env, WS_ERR_FAULT);
  if (n > WS_MAX_BUFS) return fail(env, WS_ERR_INVAL);
  if (n > 16) {
    bufs = (ws_buf*)malloc(sizeof(ws_buf) * n);
    if (!bufs) return fail(env, WS_ERR_NOMEM);
  }
  size_t total;
  int64_t count = fill_bufs(env, argv[2], bufs, WS_MAX_BUFS, &total);
  size_t sent = 0;
  err = count < 0 ? (int)-count : ws_send(h, bufs, (uint32_t)count, &to, (int)flags, &sent);
  if (bufs != stack_bufs) free(bufs);
  return err ? fail(env, err) : num(env, (double)sent);
#endif
}

#ifndef _WIN32
/*
 * Views as call arguments: napi_get_cb_info hands over every argument at once (an array
 * costs a napi_get_element per view, about three times napi_get_typedarray_info), and no
 * getter of the caller's can run between taking a view's pointer and the system call.
 * Reads all the arguments into *argv: `stack` (room for `room`) when they fit, else the
 * heap (free it when *argv != stack); more than `max` is EINVAL. Missing leading
 * arguments (fewer than `fixed`, at most `room`) are undefined. 0 or an error code.
 */
static int args_read(napi_env env, napi_callback_info info, napi_value* stack, size_t room, size_t fixed, size_t max,
                     napi_value** argv, size_t* argc) {
  *argv = stack;
  *argc = room;
  if (napi_get_cb_info(env, info, argc, stack, NULL, NULL) != napi_ok) return WS_ERR_INVAL;
  if (*argc < fixed) *argc = fixed;
  if (*argc <= room) return 0;
  if (*argc > max) return WS_ERR_INVAL;
  napi_value* heap = (napi_value*)malloc(sizeof(napi_value) * *argc);
  if (!heap) return WS_ERR_NOMEM;
  if (napi_get_cb_info(env, info, argc, heap, NULL, NULL) != napi_ok) {
    free(heap);
    return WS_ERR_INVAL;
  }
  *argv = heap;
  return 0;
}

/* sendArgs(handle, family, addrBytes, port, flags, ...views) -> bytes | -err: send() with the views as arguments. */
#define SEND_ARGS_FIXED 5
static napi_value js_send_args(napi_env env, napi_callback_info info) {
  napi_value stack_argv[SEND_ARGS_FIXED + 16];
  ws_buf stack_bufs[16];
  napi_value* argv;
  ws_buf* bufs = stack_bufs;
  size_t argc;
  int err = args_read(env, info, stack_argv, SEND_ARGS_FIXED + 16, SEND_ARGS_FIXED, SEND_ARGS_FIXED + WS_MAX_BUFS, &argv, &argc);
  if (err) return fail(env, err);
  size_t n = argc - SEND_ARGS_FIXED;
  if (n > 16 && !(bufs = (ws_buf*)malloc(sizeof(ws_buf) * n))) err = WS_ERR_NOMEM;
  ws_handle h;
  ws_endpoint to;
  double flags;
  if (!err && (!get_handle(env, argv[0], &h) || !get_int(env, argv[4], 0, 4294967295.0, &flags))) err = WS_ERR_INVAL;
  if (!err) err = get_endpoint(env, argv[1], argv[2], argv[3], &to);
  size_t total;
  if (!err) err = views_to_bufs(env, argv + SEND_ARGS_FIXED, (uint32_t)n, bufs, &total);
  size_t sent = 0;
  if (!err) err = ws_send(h, bufs, (uint32_t)n, &to, (int)flags, &sent);
  if (argv != stack_argv) free(argv);
  if (bufs != stack_bufs) free(bufs);
  return err ? fail(env, err) : num(env, (double)sent);
}

static uint32_t array_length(napi_env env, napi_value v) {
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) return UINT32_MAX;
  return napi_get_array_length(env, v, &n) == napi_ok ? n : UINT32_MAX;
}

/* The words of a Uint32Array, or false. A detached one has none. */
static int get_words(napi_env env, napi_value v, uint32_t** words, size_t* len) {
  bool is_ta = false;
  napi_typedarray_type type;
  void* ptr;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok || type != napi_uint32_array) return 0;
  *words = (uint32_t*)ptr;
  return *len == 0 || ptr != NULL;
}

/*
 * The datagrams a batch descriptor describes: desc[0] = n, then three words per datagram,
 * how many of the views it gathers (in order), its port, and the slot of its address in
 * `addrs` (16 bytes a slot; an IPv4 address takes the first 4). The counts must add up
 * to the views passed. 0 or an error code; d[i].bufs points into bufs.
 */
static int batch_read(int family, const uint32_t* desc, const uint8_t* addrs, size_t addrs_len, uint32_t n, size_t views, ws_datagram* d, ws_buf* bufs) {
  size_t used = 0, slots = addrs_len / 16;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t count = desc[1 + 3 * i], port = desc[2 + 3 * i], slot = desc[3 + 3 * i];
    if (count > WS_MAX_BUFS || count > views - used || port > 65535) return WS_ERR_INVAL;
    if (slot >= slots) return WS_ERR_FAULT;
    d[i].to.family = family;
    memcpy(d[i].to.addr, addrs + (size_t)slot * 16, family == 4 ? 4 : 16);
    d[i].to.port = (uint16_t)port;
    d[i].bufs = bufs + used;
    d[i].count = count;
    used += count;
  }
  return used == views ? 0 : WS_ERR_INVAL;
}

/*
 * sendBatch(handle, family, desc, addrs, flags, ...views) -> datagrams sent | -err: one
 * sendmmsg. desc (a Uint32Array of at least 1 + 3n words) and addrs (a Uint8Array) as
 * batch_read reads them; the views of every datagram, in order, as arguments (at most
 * WS_MAX_BATCH_VIEWS). A partial batch returns how many left; the caller sends the rest
 * again to learn what stopped them.
 */
#define BATCH_FIXED 5
static napi_value js_send_batch(napi_env env, napi_callback_info info) {
  napi_value stack_argv[BATCH_FIXED + 64];
  napi_value* argv;
  size_t argc;
  int err = args_read(env, info, stack_argv, BATCH_FIXED + 64, BATCH_FIXED, BATCH_FIXED + WS_MAX_BATCH_VIEWS, &argv, &argc);
  if (err) return fail(env, err);
  ws_handle h;
  int family = 0;
  double flags;
  uint32_t* desc = NULL;
  uint8_t* addrs = NULL;
  size_t desc_len = 0, addrs_len = 0, views = argc - BATCH_FIXED;
  if (!get_handle(env, argv[0], &h) || !get_family(env, argv[1], &family) || !get_int(env, argv[4], 0, 4294967295.0, &flags))
    err = WS_ERR_INVAL;
  else if (!get_words(env, argv[2], &desc, &desc_len) || desc_len < 1 || !get_bytes(env, argv[3], &addrs, &addrs_len))
    err = WS_ERR_FAULT;
  uint32_t n = err ? 0 : desc[0];
  if (!err && n > WS_MAX_BATCH) err = WS_ERR_INVAL;
  if (!err && desc_len < 1 + 3 * (size_t)n) err = WS_ERR_FAULT;
  ws_datagram* d = NULL;
  ws_buf* bufs = NULL;
  if (!err && n > 0) {
    d = (ws_datagram*)calloc(n, sizeof(ws_datagram));
    bufs = (ws_buf*)calloc(views ? views : 1, sizeof(ws_buf));
    if (!d || !bufs) err = WS_ERR_NOMEM;
  }
  if (!err) err = batch_read(family, desc, addrs, addrs_len, n, views, d, bufs);
  size_t total;
  if (!err && n > 0) err = views_to_bufs(env, argv + BATCH_FIXED, (uint32_t)views, bufs, &total);
  uint32_t done = 0;
  if (!err && n > 0) err = ws_send_batch(h, d, n, (int)flags, &done);
  free(d);
  free(bufs);
  if (argv != stack_argv) free(argv);
  return done > 0 || !err ? num(env, done) : fail(env, err);
}

/*
 * sendSegments(handle, family, addrBytes, port, segmentSize, flags, ...views) -> bytes |
 * -err: one UDP GSO send, the views as arguments.
 */
#define SEGMENTS_FIXED 6
static napi_value js_send_segments(napi_env env, napi_callback_info info) {
  napi_value stack_argv[SEGMENTS_FIXED + 64];
  napi_value* argv;
  size_t argc;
  int err = args_read(env, info, stack_argv, SEGMENTS_FIXED + 64, SEGMENTS_FIXED, SEGMENTS_FIXED + WS_MAX_BUFS, &argv, &argc);
  if (err) return fail(env, err);
  ws_handle h;
  ws_endpoint to;
  double segment, flags;
  size_t n = argc - SEGMENTS_FIXED;
  if (!get_handle(env, argv[0], &h) || !get_int(env, argv[4], 1, 65535, &segment) ||
      !get_int(env, argv[5], 0, 4294967295.0, &flags))
    err = WS_ERR_INVAL;
  if (!err) err = get_endpoint(env, argv[1], argv[2], argv[3], &to);
  ws_buf* bufs = err ? NULL : (ws_buf*)calloc(n ? n : 1, sizeof(ws_buf));
  if (!err && !bufs) err = WS_ERR_NOMEM;
  size_t total, sent = 0;
  if (!err) err = views_to_bufs(env, argv + SEGMENTS_FIXED, (uint32_t)n, bufs, &total);
  if (!err) err = ws_send_segments(h, bufs, (uint32_t)n, &to, (uint16_t)segment, (int)flags, &sent);
  free(bufs);
  if (argv != stack_argv) free(argv);
  return err ? fail(env, err) : num(env, (double)sent);
}

/*
 * recv(handle, family, views, peek, out24) -> bytes written to the views | -err. out24
 * receives the source (bytes 0..15 address, 16..17 port big-endian), 18 the family, 19
 * whether the datagram was truncated, 20..23 its whole length (little-endian).
 */
static napi_value js_recv(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  int family;
  bool peek = false;
  uint8_t* out;
  size_t out_len;
  if (!get_handle(env, argv[0], &h) || !get_family(env, argv[1], &family) || napi_get_value_bool(env, argv[3], &peek) != napi_ok)
    return fail(env, WS_ERR_INVAL);
  if (!get_bytes(env, argv[4], &out, &out_len) || out_len < 24) return fail(env, WS_ERR_FAULT);
  uint32_t n = array_length(env, argv[2]);
  if (n == UINT32_MAX) return fail(env, WS_ERR_FAULT);
  if (n > WS_MAX_BUFS) return fail(env, WS_ERR_INVAL);
  ws_buf stack_bufs[16];
  ws_buf* bufs = n > 16 ? (ws_buf*)calloc(n, sizeof(ws_buf)) : stack_bufs;
  if (!bufs) return fail(env, WS_ERR_NOMEM);
  size_t total;
  int64_t c = fill_bufs(env, argv[2], bufs, n, &total);
  ws_received r;
  memset(&r, 0, sizeof(r));
  int err = c < 0 ? (int)-c : ws_recv(h, family, bufs, (uint32_t)c, peek, &r);
  if (bufs != stack_bufs) free(bufs);
  if (err) return fail(env, err);
  memcpy(out, r.from.addr, 16);
  out[16] = (uint8_t)(r.from.port >> 8);
  out[17] = (uint8_t)(r.from.port & 0xff);
  out[18] = (uint8_t)family;
  out[19] = (uint8_t)(r.truncated ? 1 : 0);
  uint32_t length = r.length > 0xffffffffu ? 0xffffffffu : (uint32_t)r.length;
  for (int i = 0; i < 4; i++) out[20 + i] = (uint8_t)(length >> (8 * i));
  return num(env, (double)r.filled);
}

/* drops(handle) -> datagrams the kernel dropped for a full receive buffer | -err. */
static napi_value js_drops(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  if (!get_handle(env, argv[0], &h)) return fail(env, WS_ERR_INVAL);
  uint32_t drops = 0;
  int err = ws_drops(h, &drops);
  return err ? fail(env, err) : num(env, drops);
}

/* takeError(handle) -> the pending socket error (0: none) | -err; empties the error queue. */
static napi_value js_take_error(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  if (!get_handle(env, argv[0], &h)) return fail(env, WS_ERR_INVAL);
  int error = 0;
  int err = ws_take_error(h, &error);
  return err ? fail(env, err) : num(env, error);
}

/* gsoSupported() -> boolean: the kernel takes UDP_SEGMENT (probed once). */
static napi_value js_gso_supported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_get_boolean(env, ws_gso_supported() != 0, &out);
  return out;
}

/* Winsock's MSG_PEEK (Linux's too): recvBatch's one flag. */
#define RECV_BATCH_PEEK 2
/* The bytes of recvBatch's `out` for each datagram. */
#define RECV_BATCH_OUT 32

/*
 * The datagrams a receive descriptor describes: desc[0] = n, then one word per datagram,
 * how many of the views it scatters into (in order, consecutive). The counts must add up
 * to the views passed. 0 or an error code; d[i].bufs points into bufs.
 */
static int recv_batch_read(const uint32_t* desc, uint32_t n, size_t views, ws_recv_datagram* d, ws_buf* bufs) {
  size_t used = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t count = desc[1 + i];
    if (count > WS_MAX_BUFS || count > views - used) return WS_ERR_INVAL;
    d[i].bufs = bufs + used;
    d[i].count = count;
    used += count;
  }
  return used == views ? 0 : WS_ERR_INVAL;
}

/*
 * Whether a view's buffer is detached (asked of zero-length views only: a detached view
 * has no bytes). Elsewhere such a view is an empty buffer; a receive into it would throw
 * a datagram away, so recvBatch refuses it.
 */
static int view_detached(napi_env env, napi_value v) {
  napi_value buffer;
  bool detached = false;
  if (napi_get_typedarray_info(env, v, NULL, NULL, NULL, &buffer, NULL) != napi_ok) return 1;
  return napi_is_detached_arraybuffer(env, buffer, &detached) != napi_ok || detached;
}

static void put_le32(uint8_t* p, size_t v) {
  uint32_t w = v > 0xffffffffu ? 0xffffffffu : (uint32_t)v;
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(w >> (8 * i));
}

/*
 * recvBatch(handle, family, desc, out, flags, ...views) -> datagrams received (>= 1) |
 * -err: one recvmmsg (Linux; elsewhere a loop of recvmsg) straight into the views, no
 * copy. desc (a Uint32Array): n (1..WS_MAX_BATCH), then per datagram how many of the
 * views (call arguments, at most WS_MAX_BATCH_VIEWS in all, each datagram's consecutive)
 * it scatters into; the counts add up to the views; a detached view is -EFAULT (nothing
 * is received), a zero-length one takes no bytes. flags: 0 or MSG_PEEK (2: the first
 * datagram only, left queued). -EAGAIN when nothing waits; a pending socket error (an
 * ICMP error, IP_RECVERR) only when nothing was received, as recv reports it. For each
 * datagram i received, out (at least 32n bytes) at 32i gets: bytes written to its views
 * (0..3, uint32 LE), its whole length (4..7, uint32 LE; with UDP GRO, all its segments),
 * source address (8..23, IPv4 in the first 4), port (24..25, big-endian), family (26: 4
 * or 6), truncated (27: 1 or 0), UDP GRO segment size (28..29, uint16 LE, 0 if none),
 * 0 (30..31). The rest of out is not written.
 */
#define RECV_BATCH_FIXED 5
static napi_value js_recv_batch(napi_env env, napi_callback_info info) {
  napi_value stack_argv[RECV_BATCH_FIXED + 64];
  ws_recv_datagram stack_d[16];
  ws_buf stack_bufs[64];
  napi_value* argv;
  size_t argc;
  int err = args_read(env, info, stack_argv, RECV_BATCH_FIXED + 64, RECV_BATCH_FIXED, RECV_BATCH_FIXED + WS_MAX_BATCH_VIEWS,
                      &argv, &argc);
  if (err) return fail(env, err);
  ws_handle h;
  int family = 0;
  double flags = 0;
  uint32_t* desc = NULL;
  uint8_t* out = NULL;
  size_t desc_len = 0, out_len = 0, views = argc - RECV_BATCH_FIXED;
  if (!get_handle(env, argv[0], &h) || !get_family(env, argv[1], &family) || !get_int(env, argv[4], 0, 4294967295.0, &flags) ||
      ((uint32_t)flags & ~(uint32_t)RECV_BATCH_PEEK) != 0)
    err = WS_ERR_INVAL;
  else if (!get_words(env, argv[2], &desc, &desc_len) || desc_len < 1)
    err = WS_ERR_FAULT;
  uint32_t n = err ? 0 : desc[0];
  if (!err && (n == 0 || n > WS_MAX_BATCH)) err = WS_ERR_INVAL;
  if (!err && desc_len < 1 + (size_t)n) err = WS_ERR_FAULT;
  if (!err && (!get_bytes(env, argv[3], &out, &out_len) || out_len < RECV_BATCH_OUT * (size_t)n)) err = WS_ERR_FAULT;
  ws_recv_datagram* d = stack_d;
  ws_buf* bufs = stack_bufs;
  if (!err && n > 16 && !(d = (ws_recv_datagram*)calloc(n, sizeof(ws_recv_datagram)))) err = WS_ERR_NOMEM;
  if (!err && views > 64 && !(bufs = (ws_buf*)calloc(views, sizeof(ws_buf)))) err = WS_ERR_NOMEM;
  /* The counts are copied out of desc before the receive, which may write over it (a view of its bytes). */
  if (!err) err = recv_batch_read(desc, n, views, d, bufs);
  size_t total;
  if (!err) err = views_to_bufs(env, argv + RECV_BATCH_FIXED, (uint32_t)views, bufs, &total);
  for (size_t i = 0; !err && i < views; i++)
    if (bufs[i].iov_len == 0 && view_detached(env, argv[RECV_BATCH_FIXED + i])) err = WS_ERR_FAULT;
  uint32_t done = 0;
  if (!err) err = ws_recv_batch(h, family, d, n, ((uint32_t)flags & RECV_BATCH_PEEK) != 0, &done);
  for (uint32_t i = 0; !err && i < done; i++) {
    uint8_t* o = out + (size_t)RECV_BATCH_OUT * i;
    const ws_received* r = &d[i].got;
    put_le32(o, r->filled);
    put_le32(o + 4, r->length);
    memcpy(o + 8, r->from.addr, 16);
    o[24] = (uint8_t)(r->from.port >> 8);
    o[25] = (uint8_t)(r->from.port & 0xff);
    o[26] = (uint8_t)r->from.family;
    o[27] = (uint8_t)(r->truncated ? 1 : 0);
    o[28] = (uint8_t)(d[i].segment & 0xff);
    o[29] = (uint8_t)(d[i].segment >> 8);
    o[30] = 0;
    o[31] = 0;
  }
  if (d != stack_d) free(d);
  if (bufs != stack_bufs) free(bufs);
  if (argv != stack_argv) free(argv);
  return err ? fail(env, err) : num(env, done);
}

/* setGro(handle, on) -> 0 | -err: UDP GRO (Linux UDP_GRO); -ENOPROTOOPT where the kernel or platform lacks it. */
static napi_value js_set_gro(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  bool on = false;
  if (!get_handle(env, argv[0], &h) || napi_get_value_bool(env, argv[1], &on) != napi_ok) return fail(env, WS_ERR_INVAL);
  int err = ws_set_gro(h, on ? 1 : 0);
  return err ? fail(env, err) : num(env, 0);
}

/* groSupported() -> boolean: the kernel takes UDP_GRO (probed once). */
static napi_value js_gro_supported(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_get_boolean(env, ws_gro_supported() != 0, &out);
  return out;
}
#endif

/* close(handle) -> 0 | -err */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  if (!get_handle(env, argv[0], &h)) return fail(env, WS_ERR_INVAL);
  ws_env* c = env_of(env);
  /* Only a socket of this environment's, and only once. */
  if (!c || !ws_set_remove(&c->sockets, h)) return fail(env, WS_ERR_BADF);
  int err = ws_close(h);
  return err ? fail(env, err) : num(env, 0);
}

/* isRetryable(err) -> boolean: EAGAIN/ENOBUFS (POSIX), WSAEWOULDBLOCK/WSAENOBUFS (Windows). */
static napi_value js_is_retryable(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  double e;
  napi_value out;
  napi_get_boolean(env, get_int(env, argv[0], 0, 2147483647.0, &e) && ws_is_retryable((int)e), &out);
  return out;
}

#ifndef _WIN32
/*
 * A writability watcher: a uv_poll handle on Node's own loop that calls back into
 * JavaScript (through MakeCallback, so promises settle) while sends wait for room.
 */
struct ws_watch {
  uv_poll_t poll;
  napi_env env;
  ws_env* owner;
  ws_watch* next;   /* in owner->watchers while not closed */
  ws_watch** pprev; /* where this one is linked from, or NULL */
  napi_ref callback;
  napi_async_context context;
  int events; /* UV_READABLE | UV_WRITABLE being watched, 0 when stopped */
  int closed;
  int handle_closed; /* libuv's close callback ran */
  int finalized;     /* the external is gone: nobody can reach w any more */
};

static void on_poll(uv_poll_t* handle, int status, int events) {
  ws_watch* w = (ws_watch*)handle->data;
  /* On an error condition (POLLERR: an ICMP error queued by IP_RECVERR) libuv stops the
     handle and reports UV_EBADF; JavaScript learns it and watches again after draining. */
  if (status < 0) w->events = 0;
  napi_handle_scope scope;
  if (napi_open_handle_scope(w->env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[2], result;
  if (napi_get_reference_value(w->env, w->callback, &cb) == napi_ok && cb != NULL) {
    napi_get_global(w->env, &recv);
    napi_create_int32(w->env, status, &argv[0]);
    napi_create_int32(w->env, events, &argv[1]);
    if (napi_make_callback(w->env, w->context, recv, cb, 2, argv, &result) == napi_pending_exception) {
      /* An exception of the callback is the process's, as any callback's would be. */
      napi_value error;
      if (napi_get_and_clear_last_exception(w->env, &error) == napi_ok) napi_fatal_exception(w->env, error);
    }
  }
  napi_close_handle_scope(w->env, scope);
}

static void watch_list(ws_env* c, ws_watch* w) {
  w->next = c->watchers;
  if (w->next) w->next->pprev = &w->next;
  w->pprev = &c->watchers;
  c->watchers = w;
}

static void watch_unlist(ws_watch* w) {
  if (!w->pprev) return;
  *w->pprev = w->next;
  if (w->next) w->next->pprev = w->pprev;
  w->next = NULL;
  w->pprev = NULL;
}

/* The teardown is done when its last close callback has run: Node may unload the addon then. */
static void env_settle(ws_env* c) {
  if (!c->ending || c->closing > 0 || !c->hook) return;
  napi_async_cleanup_hook_handle hook = c->hook;
  c->hook = NULL;
  napi_remove_async_cleanup_hook(hook);
}

/* w is freed once both libuv and JavaScript are done with it. */
static void on_watch_closed(uv_handle_t* handle) {
  ws_watch* w = (ws_watch*)handle->data;
  ws_env* c = w->owner;
  w->handle_closed = 1;
  if (w->finalized) free(w);
  c->closing--;
  env_settle(c);
}

static void watch_close(napi_env env, ws_watch* w) {
  if (w->closed) return;
  w->closed = 1;
  watch_unlist(w);
  uv_poll_stop(&w->poll);
  w->events = 0;
  napi_delete_reference(env, w->callback);
  napi_async_destroy(env, w->context);
  w->owner->closing++;
  uv_close((uv_handle_t*)&w->poll, on_watch_closed);
}

/*
 * The environment's teardown (an async cleanup hook): every watcher stops and closes
 * before its socket does (libuv's rule for uv_poll), and every socket still open closes.
 * The hook stays registered until the last close callback has run, so that Node spins
 * the loop for them and unloads the addon only afterwards; the finalizers that run later
 * then find every watcher closed and only free memory.
 */
static void env_teardown(napi_async_cleanup_hook_handle hook, void* arg) {
  (void)hook;
  ws_env* c = (ws_env*)arg;
  c->ending = 1;
  while (c->watchers) watch_close(c->env, c->watchers);
  ws_set_drain(&c->sockets, close_quietly);
  env_settle(c);
}

/* The instance data's finalizer: after the teardown (its hook holds the environment). */
static void env_free(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  ws_env* c = (ws_env*)data;
  ws_set_drain(&c->sockets, close_quietly);
  free(c);
}

static int posix_env_init(napi_env env) {
  ws_env* c = (ws_env*)calloc(1, sizeof(ws_env));
  if (!c) return WS_ERR_NOMEM;
  c->env = env;
  if (napi_set_instance_data(env, c, env_free, NULL) != napi_ok) {
    free(c);
    return WS_ERR_NOMEM;
  }
  return napi_add_async_cleanup_hook(env, env_teardown, c, &c->hook) == napi_ok ? 0 : WS_ERR_NOMEM;
}

static void watch_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  ws_watch* w = (ws_watch*)data;
  w->finalized = 1;
  if (!w->closed) watch_close(env, w);
  else if (w->handle_closed) free(w);
}

static ws_watch* get_watch(napi_env env, napi_value v) {
  napi_valuetype t;
  void* data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  ws_watch* w = (ws_watch*)data;
  return w && !w->closed ? w : NULL;
}

/* watch(handle, callback) -> external | -err */
static napi_value js_watch(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_handle h;
  napi_valuetype t;
  if (!get_handle(env, argv[0], &h) || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function)
    return fail(env, WS_ERR_INVAL);
  uv_loop_t* loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return fail(env, WS_ERR_INVAL);
  ws_env* c = env_of(env);
  if (!c || c->ending) return fail(env, WS_ERR_NETDOWN);
  ws_watch* w = (ws_watch*)calloc(1, sizeof(ws_watch));
  if (!w) return fail(env, WS_ERR_NOMEM);
  int err = uv_poll_init(loop, &w->poll, (int)h);
  if (err) {
    free(w);
    return fail(env, -err);
  }
  w->poll.data = w;
  w->env = env;
  w->owner = c;
  watch_list(c, w);
  napi_value name, external;
  napi_create_string_utf8(env, "wsasendto:writable", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &w->context);
  napi_create_reference(env, argv[1], 1, &w->callback);
  if (napi_create_external(env, w, watch_finalize, NULL, &external) != napi_ok) {
    w->finalized = 1;
    watch_close(env, w);
    return fail(env, WS_ERR_NOMEM);
  }
  return external;
}

/* want(watcher, events) -> 0 | -err: watch for readability (1) and/or writability (2), or stop (0). */
static napi_value js_want(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_watch* w = get_watch(env, argv[0]);
  double events;
  if (!w || !get_int(env, argv[1], 0, 3, &events)) return fail(env, WS_ERR_INVAL);
  int want = ((int)events & 1 ? UV_READABLE : 0) | ((int)events & 2 ? UV_WRITABLE : 0);
  int err = 0;
  if (want == w->events) return num(env, 0);
  err = want ? uv_poll_start(&w->poll, want, on_poll) : uv_poll_stop(&w->poll);
  if (!err) w->events = want;
  return err ? fail(env, -err) : num(env, 0);
}

/* unwatch(watcher) -> 0: stops and releases the watcher (before the socket closes). */
static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  get_args(env, info, argv);
  ws_watch* w = get_watch(env, argv[0]);
  if (!w) return fail(env, WS_ERR_INVAL);
  watch_close(env, w);
  return num(env, 0);
}
#endif

static napi_value init(napi_env env, napi_value exports) {
  if (ws_platform_init() != 0) return exports;
#ifdef _WIN32
  if (win_env_init(env) != 0) {
    ws_platform_release();
    return exports;
  }
#else
  if (posix_env_init(env) != 0) return exports;
#endif
  napi_property_descriptor props[] = {
    {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"bind", NULL, js_bind, NULL, NULL, NULL, napi_enumerable, NULL},
    {"localAddress", NULL, js_local_address, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setOption", NULL, js_set_option, NULL, NULL, NULL, napi_enumerable, NULL},
    {"getOption", NULL, js_get_option, NULL, NULL, NULL, napi_enumerable, NULL},
    {"send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"isRetryable", NULL, js_is_retryable, NULL, NULL, NULL, napi_enumerable, NULL},
#ifdef _WIN32
    {"onComplete", NULL, js_on_complete, NULL, NULL, NULL, napi_enumerable, NULL},
    {"recvOverlapped", NULL, js_recv_win, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setConnReset", NULL, js_set_conn_reset, NULL, NULL, NULL, napi_enumerable, NULL},
    {"cancelReceive", NULL, js_cancel_receive, NULL, NULL, NULL, napi_enumerable, NULL},
    {"recv", NULL, js_recv_now_win, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pending", NULL, js_pending_win, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sendNow", NULL, js_send_now_win, NULL, NULL, NULL, napi_enumerable, NULL},
    {"writable", NULL, js_writable_win, NULL, NULL, NULL, napi_enumerable, NULL},
#endif
#ifndef _WIN32
    {"recv", NULL, js_recv, NULL, NULL, NULL, napi_enumerable, NULL},
    {"drops", NULL, js_drops, NULL, NULL, NULL, napi_enumerable, NULL},
    {"takeError", NULL, js_take_error, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sendArgs", NULL, js_send_args, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sendBatch", NULL, js_send_batch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sendSegments", NULL, js_send_segments, NULL, NULL, NULL, napi_enumerable, NULL},
    {"gsoSupported", NULL, js_gso_supported, NULL, NULL, NULL, napi_enumerable, NULL},
    {"recvBatch", NULL, js_recv_batch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setGro", NULL, js_set_gro, NULL, NULL, NULL, napi_enumerable, NULL},
    {"groSupported", NULL, js_gro_supported, NULL, NULL, NULL, napi_enumerable, NULL},
    {"watch", NULL, js_watch, NULL, NULL, NULL, napi_enumerable, NULL},
    {"want", NULL, js_want, NULL, NULL, NULL, napi_enumerable, NULL},
    {"unwatch", NULL, js_unwatch, NULL, NULL, NULL, napi_enumerable, NULL},
#endif
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  napi_value platform;
#ifdef _WIN32
  napi_create_string_utf8(env, "win32", NAPI_AUTO_LENGTH, &platform);
#else
  napi_create_string_utf8(env, "posix", NAPI_AUTO_LENGTH, &platform);
#endif
  napi_set_named_property(env, exports, "errors", platform);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
