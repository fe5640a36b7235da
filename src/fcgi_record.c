/* fcgi_record.c: FastCGI 1.0 record encoding and the incremental decoder. */
#include "fcgi_record.h"

#include <stdint.h>
#include <string.h>

/* Decoder states; the struct stores them in an int. */
enum { ST_HEADER = 0, ST_CONTENT, ST_PADDING, ST_ERROR };

#define NV_MAX_LEN 0x7fffffffu

void bc_fcgi_header_encode(uint8_t out[BC_FCGI_HEADER_LEN], uint8_t type,
                           uint16_t request_id, uint16_t content_length,
                           uint8_t padding_length)
{
    out[0] = BC_FCGI_VERSION;
    out[1] = type;
    out[2] = (uint8_t)(request_id >> 8);
    out[3] = (uint8_t)request_id;
    out[4] = (uint8_t)(content_length >> 8);
    out[5] = (uint8_t)content_length;
    out[6] = padding_length;
    out[7] = 0;
}

void bc_fcgi_begin_request_encode(uint8_t out[16], uint16_t request_id,
                                  uint16_t role, uint8_t flags)
{
    bc_fcgi_header_encode(out, BC_FCGI_BEGIN_REQUEST, request_id, 8, 0);
    out[8] = (uint8_t)(role >> 8);
    out[9] = (uint8_t)role;
    out[10] = flags;
    memset(out + 11, 0, 5);
}

static size_t len_size(size_t n)
{
    return n < 128 ? 1 : 4;
}

size_t bc_fcgi_nv_size(size_t name_len, size_t value_len)
{
    size_t fixed = len_size(name_len) + len_size(value_len);

    /* Saturate rather than wrap so that an absurd length can never make a
     * caller allocate a buffer too small for what it then encodes. */
    if (name_len > SIZE_MAX - fixed || value_len > SIZE_MAX - fixed - name_len)
        return SIZE_MAX;
    return fixed + name_len + value_len;
}

static uint8_t *put_len(uint8_t *p, size_t n)
{
    if (n < 128) {
        *p++ = (uint8_t)n;
    } else {
        *p++ = (uint8_t)((n >> 24) | 0x80);
        *p++ = (uint8_t)(n >> 16);
        *p++ = (uint8_t)(n >> 8);
        *p++ = (uint8_t)n;
    }
    return p;
}

size_t bc_fcgi_nv_encode(uint8_t *out, const char *name, size_t name_len,
                         const char *value, size_t value_len)
{
    uint8_t *p = out;

    if (name_len > NV_MAX_LEN || value_len > NV_MAX_LEN)
        return 0;
    p = put_len(p, name_len);
    p = put_len(p, value_len);
    if (name_len > 0)
        memcpy(p, name, name_len);
    p += name_len;
    if (value_len > 0)
        memcpy(p, value, value_len);
    p += value_len;
    return (size_t)(p - out);
}

/* Reads one nv length at IN[*pos]; returns 0 when the bytes are not there. */
static int get_len(const uint8_t *in, size_t len, size_t *pos, size_t *out)
{
    size_t p = *pos;

    if (p >= len)
        return 0;
    if ((in[p] & 0x80) == 0) {
        *out = in[p];
        *pos = p + 1;
        return 1;
    }
    if (len - p < 4)
        return 0;
    *out = ((size_t)(in[p] & 0x7f) << 24) | ((size_t)in[p + 1] << 16) |
           ((size_t)in[p + 2] << 8) | (size_t)in[p + 3];
    *pos = p + 4;
    return 1;
}

size_t bc_fcgi_nv_decode(const uint8_t *in, size_t len, const uint8_t **name,
                         size_t *name_len, const uint8_t **value,
                         size_t *value_len)
{
    size_t pos = 0, nlen, vlen;

    if (!get_len(in, len, &pos, &nlen) || !get_len(in, len, &pos, &vlen))
        return 0;
    /* Compare against what is left instead of adding, so hostile lengths
     * cannot wrap around. */
    if (nlen > len - pos || vlen > len - pos - nlen)
        return 0;
    *name = in + pos;
    *name_len = nlen;
    *value = in + pos + nlen;
    *value_len = vlen;
    return pos + nlen + vlen;
}

void bc_fcgi_decoder_init(bc_fcgi_decoder *d)
{
    memset(d, 0, sizeof(*d));
    d->state = ST_HEADER;
}

/* Interprets a complete header; returns -1 for a stream we cannot follow. */
static int start_record(bc_fcgi_decoder *d)
{
    const uint8_t *h = d->header;

    if (h[0] != BC_FCGI_VERSION)
        return -1;
    d->type = h[1];
    d->request_id = (uint16_t)((h[2] << 8) | h[3]);
    d->content_length = (size_t)((h[4] << 8) | h[5]);
    d->content_left = d->content_length;
    d->padding_left = h[6];
    d->header_have = 0;
    d->end_have = 0;
    if (d->type == BC_FCGI_END_REQUEST && d->content_left < 8)
        return -1;
    d->state = ST_CONTENT;
    return 0;
}

size_t bc_fcgi_decode(bc_fcgi_decoder *d, const uint8_t *in, size_t len,
                      bc_fcgi_event *ev)
{
    size_t pos = 0, n;

    ev->type = BC_FCGI_EV_NONE;
    ev->record_type = d->type;
    ev->request_id = d->request_id;
    ev->data = NULL;
    ev->len = 0;
    ev->app_status = 0;
    ev->protocol_status = 0;

    for (;;) {
        switch (d->state) {
        case ST_HEADER:
            if (pos == len)
                return pos;
            n = BC_FCGI_HEADER_LEN - d->header_have;
            if (n > len - pos)
                n = len - pos;
            memcpy(d->header + d->header_have, in + pos, n);
            d->header_have += n;
            pos += n;
            if (d->header_have < BC_FCGI_HEADER_LEN)
                return pos;
            if (start_record(d) < 0)
                goto error;
            ev->record_type = d->type;
            ev->request_id = d->request_id;
            break;

        case ST_CONTENT:
            if (d->content_left == 0) {
                d->state = ST_PADDING;
                break;
            }
            if (pos == len)
                return pos;
            n = d->content_left;
            if (n > len - pos)
                n = len - pos;
            if (d->type == BC_FCGI_STDOUT || d->type == BC_FCGI_STDERR) {
                ev->type = d->type == BC_FCGI_STDOUT ? BC_FCGI_EV_STDOUT
                                                     : BC_FCGI_EV_STDERR;
                ev->data = in + pos;
                ev->len = n;
                d->content_left -= n;
                if (d->content_left == 0)
                    d->state = ST_PADDING;
                return pos + n;
            }
            if (d->type == BC_FCGI_END_REQUEST && d->end_have < 8) {
                size_t want = 8 - d->end_have;
                if (want < n)
                    n = want;
                memcpy(d->end_body + d->end_have, in + pos, n);
                d->end_have += n;
            }
            /* Any other record type, and END_REQUEST content past its
             * 8-byte body, is skipped. */
            d->content_left -= n;
            pos += n;
            break;

        case ST_PADDING:
            if (d->padding_left > 0) {
                if (pos == len)
                    return pos;
                n = d->padding_left;
                if (n > len - pos)
                    n = len - pos;
                d->padding_left -= n;
                pos += n;
                if (d->padding_left > 0)
                    return pos;
            }
            d->state = ST_HEADER;
            /* END and RECORD are reported once the whole record, padding
             * included, is consumed, so the stream is at a record boundary
             * afterwards. */
            if (d->type == BC_FCGI_END_REQUEST) {
                const uint8_t *b = d->end_body;
                ev->type = BC_FCGI_EV_END;
                ev->app_status = ((uint32_t)b[0] << 24) |
                                 ((uint32_t)b[1] << 16) |
                                 ((uint32_t)b[2] << 8) | (uint32_t)b[3];
                ev->protocol_status = b[4];
                return pos;
            }
            if ((d->type != BC_FCGI_STDOUT && d->type != BC_FCGI_STDERR) ||
                d->content_length == 0) {
                ev->type = BC_FCGI_EV_RECORD;
                return pos;
            }
            break;

        default:
            goto error;
        }
    }

error:
    /* Swallow everything: a caller that loops while input remains must not
     * spin on a stream that will never parse. */
    d->state = ST_ERROR;
    ev->type = BC_FCGI_EV_ERROR;
    return len;
}
