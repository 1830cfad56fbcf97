/*
 * relbert-embed: a C client for swift-relbert's serve.Embed (docs/protocol.md, proto/relbert/v1/).
 *
 *   relbert-embed --server ADDR [--timeout-ms N] [--retries N] [--template T] [--pooling P]
 *                 HEAD TAIL [HEAD TAIL ...]
 *
 * One request on a ZeroMQ DEALER socket: frame 0 is a relbert.v1.Header, frame 1 an EmbedRequest.
 * The reply is a Header, an EmbedReply and one raw tensor frame "embeddings" F32 [pairs, dimension].
 * When no reply comes within the timeout the socket is closed (linger 0), a new one connected and
 * the request sent again with a new request id (the Lazy Pirate pattern); replies that carry another
 * request id are late answers to an earlier try and are ignored.
 *
 * Output: one line per pair, "head<TAB>tail<TAB>v1 v2 ... vdim" (%.9g); the model's checksum and
 * generation go to stderr.
 *
 * Exit codes: 0 success; 1 the server answered with an error status, the reply was invalid, or a
 * local failure; 2 no reply after all tries; 64 usage error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "relbert/v1/envelope.pb-c.h"
#include "relbert/v1/serving.pb-c.h"

enum {
    EXIT_SERVER_ERROR = 1,
    EXIT_NO_REPLY = 2,
    EXIT_USAGE = 64,
};

/* Limits the Swift client applies to replies (MessageLimits; docs/protocol.md section 2). A reply
 * over them is ignored, as the Swift client does. */
#define MAX_HEADER_BYTES 4096u
#define MAX_BODY_BYTES (16u << 20)
#define MAX_TENSOR_FRAMES 32u

#define DEFAULT_TIMEOUT_MS 10000L
#define DEFAULT_RETRIES 3L

static const char *program = "relbert-embed";

typedef struct {
    char *server;
    long timeout_ms;
    long retries;
    char *template_text;
    char *pooling;
    size_t n_pairs;
    char **words; /* 2 * n_pairs words: head, tail, head, tail, ... (points into argv) */
} Options;

/* A received multipart message. */
typedef struct {
    zmq_msg_t *parts;
    size_t count;
    size_t capacity;
} Multipart;

/* ------------------------------------------------------------------------------------------ */
/* Command line                                                                               */

static void usage(FILE *out) {
    fprintf(out,
            "usage: %s --server ADDR [--timeout-ms N] [--retries N] [--template T] [--pooling P]\n"
            "       %*s HEAD TAIL [HEAD TAIL ...]\n"
            "\n"
            "Sends serve.Embed to a relbert server and prints one line per pair:\n"
            "head<TAB>tail<TAB>v1 v2 ... vdim\n"
            "\n"
            "  --server ADDR     ZeroMQ endpoint of the server, e.g. tcp://127.0.0.1:5555\n"
            "  --timeout-ms N    milliseconds to wait for each try (default %ld)\n"
            "  --retries N       tries after the first one when no reply comes (default %ld)\n"
            "  --template T      prompt template: a-e or a custom text (default: the model's own)\n"
            "  --pooling P       average_no_mask, average or mask (default: the model's own)\n"
            "  --                ends the options (for a word that starts with --)\n"
            "\n"
            "Exit codes: 0 success, 1 error reply or invalid reply, 2 no reply, 64 usage error.\n",
            program, (int)strlen(program), "", DEFAULT_TIMEOUT_MS, DEFAULT_RETRIES);
}

static int parse_long(const char *text, long min, long max, long *out) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max) return -1;
    *out = value;
    return 0;
}

/* Returns 0, or an exit code (EXIT_USAGE, or -1 for --help). */
static int parse_options(int argc, char **argv, Options *options) {
    options->server = NULL;
    options->timeout_ms = DEFAULT_TIMEOUT_MS;
    options->retries = DEFAULT_RETRIES;
    options->template_text = NULL;
    options->pooling = NULL;
    options->n_pairs = 0;
    options->words = NULL;

    int i = 1;
    while (i < argc) {
        char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) return -1;
        if (strncmp(arg, "--", 2) != 0) break; /* the first word */

        /* --name VALUE or --name=VALUE */
        const char *name = arg + 2;
        size_t name_length = strcspn(name, "=");
        char *value = NULL;
        if (name[name_length] == '=') {
            value = arg + 2 + name_length + 1;
            i++;
        } else {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: %s needs a value\n", program, arg);
                return EXIT_USAGE;
            }
            value = argv[i + 1];
            i += 2;
        }
#define IS(option) (name_length == strlen(option) && strncmp(name, option, name_length) == 0)
        if (IS("server")) {
            options->server = value;
        } else if (IS("timeout-ms")) {
            if (parse_long(value, 1, INT_MAX, &options->timeout_ms) != 0) {
                fprintf(stderr, "%s: --timeout-ms needs a whole number from 1 to %d, not '%s'\n", program, INT_MAX, value);
                return EXIT_USAGE;
            }
        } else if (IS("retries")) {
            if (parse_long(value, 0, 1000000, &options->retries) != 0) {
                fprintf(stderr, "%s: --retries needs a whole number from 0 to 1000000, not '%s'\n", program, value);
                return EXIT_USAGE;
            }
        } else if (IS("template")) {
            options->template_text = value;
        } else if (IS("pooling")) {
            options->pooling = value;
        } else {
            fprintf(stderr, "%s: unknown option --%.*s\n", program, (int)name_length, name);
            return EXIT_USAGE;
        }
#undef IS
    }

    if (options->server == NULL || options->server[0] == '\0') {
        fprintf(stderr, "%s: --server ADDR is required\n", program);
        return EXIT_USAGE;
    }
    int n_words = argc - i;
    if (n_words == 0 || n_words % 2 != 0) {
        fprintf(stderr, "%s: give one or more HEAD TAIL pairs (got %d word%s)\n", program, n_words,
                n_words == 1 ? "" : "s");
        return EXIT_USAGE;
    }
    options->n_pairs = (size_t)n_words / 2;
    options->words = argv + i;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */

static uint64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t unix_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A random first request id in 1 ... 2^40, as the Swift client does. */
static uint64_t first_request_id(void) {
    uint64_t value = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, &value, sizeof value);
        close(fd);
        if (n != (ssize_t)sizeof value) value = 0;
    }
    if (value == 0) value = unix_ms() ^ ((uint64_t)getpid() << 20) ^ monotonic_ms();
    return value % (UINT64_C(1) << 40) + 1;
}

static const char *status_name(int status) {
    const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value(&relbert__v1__status_code__descriptor, status);
    return value != NULL ? value->name : NULL;
}

static void print_status_error(int status, const char *message) {
    const char *name = status_name(status);
    if (name != NULL)
        fprintf(stderr, "error: %s: %s\n", name, message != NULL ? message : "");
    else
        fprintf(stderr, "error: STATUS_%d: %s\n", status, message != NULL ? message : "");
}

static void multipart_init(Multipart *m) {
    m->parts = NULL;
    m->count = 0;
    m->capacity = 0;
}

static void multipart_clear(Multipart *m) {
    for (size_t i = 0; i < m->count; i++) zmq_msg_close(&m->parts[i]);
    free(m->parts);
    multipart_init(m);
}

/* Receives every frame of one message. Returns 0, or -1 (errno set by zmq or ENOMEM). */
static int multipart_receive(void *socket, Multipart *m) {
    for (;;) {
        if (m->count == m->capacity) {
            size_t capacity = m->capacity == 0 ? 4 : m->capacity * 2;
            if (capacity > SIZE_MAX / sizeof(zmq_msg_t)) {
                errno = ENOMEM;
                return -1;
            }
            zmq_msg_t *parts = realloc(m->parts, capacity * sizeof(zmq_msg_t));
            if (parts == NULL) {
                errno = ENOMEM;
                return -1;
            }
            m->parts = parts;
            m->capacity = capacity;
        }
        zmq_msg_t *part = &m->parts[m->count];
        zmq_msg_init(part);
        int rc;
        do {
            rc = zmq_msg_recv(part, socket, 0);
        } while (rc < 0 && errno == EINTR);
        if (rc < 0) {
            int saved = errno;
            zmq_msg_close(part);
            errno = saved;
            return -1;
        }
        m->count++;
        if (!zmq_msg_more(part)) return 0;
    }
}

static int send_all(void *socket, const void *data, size_t size, int flags) {
    int rc;
    do {
        rc = zmq_send(socket, data, size, flags);
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? -1 : 0;
}

/* A new DEALER socket connected to the server, or NULL. */
static void *open_socket(void *context, const char *server, int *usage_error) {
    *usage_error = 0;
    void *socket = zmq_socket(context, ZMQ_DEALER);
    if (socket == NULL) {
        fprintf(stderr, "%s: cannot create a ZeroMQ socket: %s\n", program, zmq_strerror(errno));
        return NULL;
    }
    int64_t max_message = INT64_C(4) << 30; /* the Swift client's MAXMSGSIZE */
    int linger = 0;
    if (zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &max_message, sizeof max_message) != 0 ||
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger) != 0) {
        fprintf(stderr, "%s: cannot set socket options: %s\n", program, zmq_strerror(errno));
        zmq_close(socket);
        return NULL;
    }
    if (zmq_connect(socket, server) != 0) {
        fprintf(stderr, "%s: cannot connect to '%s': %s\n", program, server, zmq_strerror(errno));
        *usage_error = (errno == EINVAL || errno == EPROTONOSUPPORT || errno == ENOCOMPATPROTO);
        zmq_close(socket);
        return NULL;
    }
    return socket;
}

static void close_socket(void *socket) {
    if (socket == NULL) return;
    int linger = 0;
    zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(socket);
}

/* ------------------------------------------------------------------------------------------ */
/* Reply handling                                                                             */

enum { REPLY_IGNORE = -1 };

static float load_f32_le(const unsigned char *p) {
    uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static int invalid_reply(const char *what) {
    fprintf(stderr, "error: invalid reply: %s\n", what);
    return EXIT_SERVER_ERROR;
}

/* Checks the EmbedReply body and its tensor frame and prints the result. Returns an exit code. */
static int handle_ok_reply(const Multipart *m, const Options *options) {
    const zmq_msg_t *body_frame = &m->parts[1];
    Relbert__V1__EmbedReply *reply = relbert__v1__embed_reply__unpack(
        NULL, zmq_msg_size((zmq_msg_t *)body_frame), zmq_msg_data((zmq_msg_t *)body_frame));
    if (reply == NULL) return invalid_reply("the body is not an EmbedReply");

    int rc = EXIT_SERVER_ERROR;
    char detail[256];
    size_t tensor_frames = m->count - 2;
    if (reply->n_tensors != 1 || tensor_frames != 1) {
        snprintf(detail, sizeof detail, "expected 1 tensor, got %zu spec(s) and %zu frame(s)", reply->n_tensors,
                 tensor_frames);
        rc = invalid_reply(detail);
        goto done;
    }
    const Relbert__V1__TensorSpec *spec = reply->tensors[0];
    if (spec->name == NULL || strcmp(spec->name, "embeddings") != 0) {
        rc = invalid_reply("the tensor is not named \"embeddings\"");
        goto done;
    }
    if (spec->dtype != RELBERT__V1__DTYPE__F32) {
        snprintf(detail, sizeof detail, "tensor dtype %d, expected F32 (1)", (int)spec->dtype);
        rc = invalid_reply(detail);
        goto done;
    }
    if (spec->n_shape != 2 || spec->shape[0] != (uint64_t)options->n_pairs || spec->shape[1] == 0) {
        snprintf(detail, sizeof detail, "tensor shape of rank %zu, expected [%zu, dimension > 0]", spec->n_shape,
                 options->n_pairs);
        if (spec->n_shape == 2)
            snprintf(detail, sizeof detail, "tensor shape [%" PRIu64 ", %" PRIu64 "], expected [%zu, dimension > 0]",
                     spec->shape[0], spec->shape[1], options->n_pairs);
        rc = invalid_reply(detail);
        goto done;
    }
    uint64_t dimension = spec->shape[1];
    size_t n_pairs = options->n_pairs;
    if (dimension > SIZE_MAX / 4 / n_pairs) {
        rc = invalid_reply("tensor shape too large");
        goto done;
    }
    size_t expected_bytes = n_pairs * (size_t)dimension * 4;
    const zmq_msg_t *tensor_frame = &m->parts[2];
    size_t frame_bytes = zmq_msg_size((zmq_msg_t *)tensor_frame);
    if (frame_bytes != expected_bytes) {
        snprintf(detail, sizeof detail, "tensor frame of %zu bytes, expected %zu", frame_bytes, expected_bytes);
        rc = invalid_reply(detail);
        goto done;
    }

    const Relbert__V1__ModelIdentity *model = reply->model;
    fprintf(stderr, "model: checksum %s generation %" PRIu64 "%s%s\n",
            model != NULL && model->checksum != NULL && model->checksum[0] != '\0' ? model->checksum : "(none)",
            model != NULL ? model->generation : 0, model != NULL && model->path != NULL && model->path[0] != '\0' ? " path " : "",
            model != NULL && model->path != NULL ? model->path : "");

    const unsigned char *data = zmq_msg_data((zmq_msg_t *)tensor_frame);
    for (size_t p = 0; p < n_pairs; p++) {
        fputs(options->words[2 * p], stdout);
        putchar('\t');
        fputs(options->words[2 * p + 1], stdout);
        const unsigned char *row = data + p * (size_t)dimension * 4;
        for (uint64_t j = 0; j < dimension; j++)
            printf(j == 0 ? "\t%.9g" : " %.9g", (double)load_f32_le(row + j * 4));
        putchar('\n');
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write the output: %s\n", program, strerror(errno));
        rc = EXIT_SERVER_ERROR;
        goto done;
    }
    rc = 0;

done:
    relbert__v1__embed_reply__free_unpacked(reply, NULL);
    return rc;
}

/* Looks at one received message. Returns REPLY_IGNORE (not the reply to this try), or an exit code. */
static int handle_message(const Multipart *m, uint64_t request_id, const Options *options) {
    if (m->count < 2 || m->count - 2 > MAX_TENSOR_FRAMES) return REPLY_IGNORE;
    zmq_msg_t *header_frame = (zmq_msg_t *)&m->parts[0];
    size_t header_size = zmq_msg_size(header_frame);
    if (header_size > MAX_HEADER_BYTES || zmq_msg_size((zmq_msg_t *)&m->parts[1]) > MAX_BODY_BYTES) return REPLY_IGNORE;

    Relbert__V1__Header *header = relbert__v1__header__unpack(NULL, header_size, zmq_msg_data(header_frame));
    if (header == NULL) return REPLY_IGNORE;

    int rc = REPLY_IGNORE;
    if (header->version != 1 || !header->is_reply) goto done;
    /* request_id 0 with an error status: the coordinator's answer to an envelope it could not parse
     * (it cannot echo the id), as the Swift client also accepts. */
    int matches = header->request_id == request_id ||
                  (header->request_id == 0 && header->status != RELBERT__V1__STATUS_CODE__OK);
    if (!matches) goto done;

    if (header->status != RELBERT__V1__STATUS_CODE__OK) {
        print_status_error((int)header->status, header->status_message);
        rc = EXIT_SERVER_ERROR;
        goto done;
    }
    rc = handle_ok_reply(m, options);

done:
    relbert__v1__header__free_unpacked(header, NULL);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */

/* The packed EmbedRequest, in a malloc'ed buffer of at least 1 byte. */
static uint8_t *pack_request(const Options *options, size_t *size) {
    Relbert__V1__Pair *pairs = calloc(options->n_pairs, sizeof *pairs);
    Relbert__V1__Pair **pair_pointers = calloc(options->n_pairs, sizeof *pair_pointers);
    uint8_t *buffer = NULL;
    if (pairs == NULL || pair_pointers == NULL) goto done;
    for (size_t i = 0; i < options->n_pairs; i++) {
        relbert__v1__pair__init(&pairs[i]);
        pairs[i].head = options->words[2 * i];
        pairs[i].tail = options->words[2 * i + 1];
        pair_pointers[i] = &pairs[i];
    }
    Relbert__V1__EmbedRequest request = RELBERT__V1__EMBED_REQUEST__INIT;
    request.n_pairs = options->n_pairs;
    request.pairs = pair_pointers;
    if (options->template_text != NULL) request.template_ = options->template_text;
    if (options->pooling != NULL) request.pooling = options->pooling;
    *size = relbert__v1__embed_request__get_packed_size(&request);
    buffer = malloc(*size > 0 ? *size : 1);
    if (buffer != NULL) relbert__v1__embed_request__pack(&request, buffer);
done:
    free(pair_pointers);
    free(pairs);
    return buffer;
}

static uint8_t *pack_header(uint64_t request_id, uint64_t deadline_unix_ms, size_t *size) {
    static char method[] = "serve.Embed";
    Relbert__V1__Header header = RELBERT__V1__HEADER__INIT;
    header.version = 1;
    header.method = method;
    header.request_id = request_id;
    header.deadline_unix_ms = deadline_unix_ms;
    *size = relbert__v1__header__get_packed_size(&header);
    uint8_t *buffer = malloc(*size > 0 ? *size : 1);
    if (buffer != NULL) relbert__v1__header__pack(&header, buffer);
    return buffer;
}

int main(int argc, char **argv) {
    Options options;
    int parsed = parse_options(argc, argv, &options);
    if (parsed == -1) {
        usage(stdout);
        return 0;
    }
    if (parsed != 0) {
        usage(stderr);
        return parsed;
    }

    int rc = EXIT_SERVER_ERROR;
    void *context = NULL;
    void *socket = NULL;
    uint8_t *body = NULL;
    size_t body_size = 0;
    Multipart message;
    multipart_init(&message);

    body = pack_request(&options, &body_size);
    if (body == NULL) {
        fprintf(stderr, "%s: out of memory\n", program);
        goto cleanup;
    }
    context = zmq_ctx_new();
    if (context == NULL) {
        fprintf(stderr, "%s: cannot create a ZeroMQ context: %s\n", program, zmq_strerror(errno));
        goto cleanup;
    }

    uint64_t request_id = first_request_id();
    long tries = options.retries + 1;
    for (long attempt = 1; attempt <= tries; attempt++, request_id++) {
        if (socket == NULL) {
            int usage_error = 0;
            socket = open_socket(context, options.server, &usage_error);
            if (socket == NULL) {
                rc = usage_error ? EXIT_USAGE : EXIT_SERVER_ERROR;
                goto cleanup;
            }
        }

        size_t header_size = 0;
        uint8_t *header = pack_header(request_id, unix_ms() + (uint64_t)options.timeout_ms, &header_size);
        if (header == NULL) {
            fprintf(stderr, "%s: out of memory\n", program);
            goto cleanup;
        }
        int sent = send_all(socket, header, header_size, ZMQ_SNDMORE) == 0 && send_all(socket, body, body_size, 0) == 0;
        free(header);
        if (!sent) {
            fprintf(stderr, "%s: cannot send the request: %s\n", program, zmq_strerror(errno));
            goto cleanup;
        }

        uint64_t until = monotonic_ms() + (uint64_t)options.timeout_ms;
        for (;;) {
            uint64_t now = monotonic_ms();
            if (now >= until) break;
            zmq_pollitem_t item = {.socket = socket, .fd = 0, .events = ZMQ_POLLIN, .revents = 0};
            int polled = zmq_poll(&item, 1, (long)(until - now));
            if (polled < 0) {
                if (errno == EINTR) continue;
                fprintf(stderr, "%s: zmq_poll failed: %s\n", program, zmq_strerror(errno));
                goto cleanup;
            }
            if (polled == 0 || !(item.revents & ZMQ_POLLIN)) continue; /* the loop re-checks the time */
            if (multipart_receive(socket, &message) != 0) {
                fprintf(stderr, "%s: cannot receive: %s\n", program, zmq_strerror(errno));
                goto cleanup;
            }
            int handled = handle_message(&message, request_id, &options);
            multipart_clear(&message);
            if (handled != REPLY_IGNORE) {
                rc = handled;
                goto cleanup;
            }
        }

        /* No reply in time: drop the socket (and anything still queued on it) and try afresh. */
        close_socket(socket);
        socket = NULL;
        if (attempt < tries)
            fprintf(stderr, "%s: no reply from %s within %ld ms (try %ld of %ld), retrying\n", program, options.server,
                    options.timeout_ms, attempt, tries);
    }
    fprintf(stderr, "error: UNAVAILABLE: no reply from %s after %ld tr%s of %ld ms; giving up\n", options.server, tries,
            tries == 1 ? "y" : "ies", options.timeout_ms);
    rc = EXIT_NO_REPLY;

cleanup:
    multipart_clear(&message);
    close_socket(socket);
    if (context != NULL) zmq_ctx_term(context);
    free(body);
    return rc;
}
