/* fcgi_record.h: FastCGI record encoding and an incremental record decoder.
 * No I/O here: the decoder is fed bytes and yields events, so it is tested
 * without sockets. */
#ifndef BOCACHE_FCGI_RECORD_H
#define BOCACHE_FCGI_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define BC_FCGI_VERSION 1
#define BC_FCGI_HEADER_LEN 8
#define BC_FCGI_MAX_CONTENT 65535

enum {
    BC_FCGI_BEGIN_REQUEST = 1,
    BC_FCGI_ABORT_REQUEST = 2,
    BC_FCGI_END_REQUEST = 3,
    BC_FCGI_PARAMS = 4,
    BC_FCGI_STDIN = 5,
    BC_FCGI_STDOUT = 6,
    BC_FCGI_STDERR = 7,
    BC_FCGI_DATA = 8,
    BC_FCGI_GET_VALUES = 9,
    BC_FCGI_GET_VALUES_RESULT = 10,
    BC_FCGI_UNKNOWN_TYPE = 11
};

#define BC_FCGI_RESPONDER 1
#define BC_FCGI_KEEP_CONN 1

/* Writes an 8-byte record header into OUT. */
void bc_fcgi_header_encode(uint8_t out[BC_FCGI_HEADER_LEN], uint8_t type,
                           uint16_t request_id, uint16_t content_length,
                           uint8_t padding_length);

/* Writes a complete 16-byte BEGIN_REQUEST record into OUT. */
void bc_fcgi_begin_request_encode(uint8_t out[16], uint16_t request_id,
                                  uint16_t role, uint8_t flags);

/* Bytes one name-value pair takes (1- or 4-byte lengths as the spec says). */
size_t bc_fcgi_nv_size(size_t name_len, size_t value_len);

/* Encodes one name-value pair into OUT, which must hold
 * bc_fcgi_nv_size(name_len, value_len) bytes. Returns the bytes written, or
 * 0 when a length exceeds 0x7fffffff. */
size_t bc_fcgi_nv_encode(uint8_t *out, const char *name, size_t name_len,
                         const char *value, size_t value_len);

/* Decodes one name-value pair from IN[0..LEN). On success returns the bytes
 * consumed and points NAME/VALUE into IN; returns 0 when IN holds no complete
 * pair (truncated or empty). */
size_t bc_fcgi_nv_decode(const uint8_t *in, size_t len, const uint8_t **name,
                         size_t *name_len, const uint8_t **value,
                         size_t *value_len);

typedef enum {
    BC_FCGI_EV_NONE = 0, /* all input consumed, need more bytes */
    BC_FCGI_EV_STDOUT,   /* data/len: a piece of FCGI_STDOUT content */
    BC_FCGI_EV_STDERR,   /* data/len: a piece of FCGI_STDERR content */
    BC_FCGI_EV_END,      /* END_REQUEST: app_status, protocol_status set */
    BC_FCGI_EV_ERROR,    /* malformed stream; the decoder stays in error */
    /* A whole record with nothing to deliver: an empty STDOUT or STDERR
     * record (a stream's end) or a record of any other type, its content
     * skipped. record_type and request_id say which, so that a client can
     * refuse records that are not for its request. */
    BC_FCGI_EV_RECORD
} bc_fcgi_event_type;

typedef struct bc_fcgi_event {
    bc_fcgi_event_type type;
    uint8_t record_type; /* the FastCGI type of the record reported */
    uint16_t request_id;
    const uint8_t *data; /* points into the input given to the call */
    size_t len;
    uint32_t app_status;
    uint8_t protocol_status;
} bc_fcgi_event;

/* Incremental decoder state for records a responder sends (STDOUT, STDERR,
 * END_REQUEST; other types are skipped and reported as RECORD). Plain struct so
 * it can live on the stack or inside a connection; initialise with
 * bc_fcgi_decoder_init. */
typedef struct bc_fcgi_decoder {
    int state;
    uint8_t header[BC_FCGI_HEADER_LEN];
    size_t header_have;
    uint8_t type;
    uint16_t request_id;
    size_t content_length; /* of the record being decoded */
    size_t content_left;
    size_t padding_left;
    uint8_t end_body[8];
    size_t end_have;
} bc_fcgi_decoder;

void bc_fcgi_decoder_init(bc_fcgi_decoder *d);

/* Consumes bytes from IN[0..LEN) until it has one event to report or the
 * input is used up, and returns the number of bytes consumed; EV says what
 * happened (BC_FCGI_EV_NONE when the input ran out first). Content is
 * reported zero-copy, possibly in several pieces for one record. END and
 * RECORD are reported once their record has been consumed whole, padding
 * included, so the stream is at a record boundary after them. Call again
 * with the remaining bytes until it returns EV_NONE. */
size_t bc_fcgi_decode(bc_fcgi_decoder *d, const uint8_t *in, size_t len,
                      bc_fcgi_event *ev);

#endif
