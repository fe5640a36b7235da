#!/bin/bash
# it_conditional.sh: what an entry answers besides a plain HIT. Vary decides
# what may be stored (SPEC 6): Vary: * and a header the endpoint does not
# key on are never stored, the endpoint's vary headers and the identity
# headers of its key type are stored per value. Conditional requests
# (If-None-Match, also weak and in a list; If-Modified-Since) get a 304
# from the entry, and HEAD gets the GET entry's head, without a backend
# call.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

start_redis
start_backend
# redis.timeout_ms is generous: on a loaded test machine a 100 ms bound
# turns lookups into BYPASS answers, which is not what is tested here.
write_config redis.timeout_ms=1000
start_bocache

# --- 1. Vary ------------------------------------------------------------------
# Vary: * is never stored.
before=$(backend_count)
req '/api/v1/public/v8?vary=*' >"$WORK/v.1"
req '/api/v1/public/v8?vary=*' >"$WORK/v.2"
assert_eq "MISS MISS" "$(xcache "$WORK/v.1") $(xcache "$WORK/v.2")" \
    "[1 vary] Vary: * is a MISS every time"
assert_match 'detail=vary' "$(cache_status "$WORK/v.1")" \
    "[1 vary] Vary: * says Cache-Status detail=vary"
assert_eq $((before + 2)) "$(backend_count)" "[1 vary] Vary: * reaches the backend every time"
assert_eq "" "$(redis_keys 'bocache:none:-:/api/v1/public/v8*')" \
    "[1 vary] Vary: * leaves no entry"
# A header the endpoint does not key on.
req '/api/v1/public/v8b?vary=Accept-Encoding' >"$WORK/v.3"
req '/api/v1/public/v8b?vary=Accept-Encoding' >"$WORK/v.4"
assert_eq "MISS MISS" "$(xcache "$WORK/v.3") $(xcache "$WORK/v.4")" \
    "[1 vary] Vary: Accept-Encoding on an endpoint without vary is not stored"
assert_match 'detail=vary' "$(cache_status "$WORK/v.3")" \
    "[1 vary] ... and says detail=vary"
# One keyed header plus one that is not: not stored either.
req -H 'Accept-Language: en' '/api/v1/vary/?vary=Accept-Language,Accept-Encoding' >"$WORK/v.5"
req -H 'Accept-Language: en' '/api/v1/vary/?vary=Accept-Language,Accept-Encoding' >"$WORK/v.6"
assert_eq "MISS MISS" "$(xcache "$WORK/v.5") $(xcache "$WORK/v.6")" \
    "[1 vary] Vary: Accept-Language, Accept-Encoding (one header outside the key) is not stored"
# The endpoint's vary list: stored and keyed.
V='/api/v1/vary/?vary=Accept-Language'
req -H 'Accept-Language: en' "$V" >"$WORK/v.en1"
req -H 'Accept-Language: fr' "$V" >"$WORK/v.fr1"
req -H 'Accept-Language: en' "$V" >"$WORK/v.en2"
req -H 'Accept-Language: fr' "$V" >"$WORK/v.fr2"
assert_eq "MISS MISS HIT HIT" \
    "$(xcache "$WORK/v.en1") $(xcache "$WORK/v.fr1") $(xcache "$WORK/v.en2") $(xcache "$WORK/v.fr2")" \
    "[1 vary] Vary: Accept-Language on the endpoint with vary [Accept-Language]: stored per language"
assert_eq "$(call_of "$WORK/v.en1") $(call_of "$WORK/v.fr1")" \
    "$(call_of "$WORK/v.en2") $(call_of "$WORK/v.fr2")" \
    "[1 vary] each language gets its own entry's body"
assert_eq 2 "$(redis_keys 'bocache:none:-:/api/v1/vary/?vary=Accept-Language:*' | wc -l)" \
    "[1 vary] two languages are two entries"
# The identity headers of the key type count as keyed.
A='/api/v1/sports/v8?vary=X-Api-Key'
req -H 'X-Api-Key: k8' "$A" >"$WORK/v.k1"
req -H 'X-Api-Key: k8' "$A" >"$WORK/v.k2"
assert_eq "MISS HIT" "$(xcache "$WORK/v.k1") $(xcache "$WORK/v.k2")" \
    "[1 vary] Vary: X-Api-Key on an api_key endpoint is stored"
O='/api/v1/partner/v8?vary=Origin'
req -H 'X-Partner-Id: 8' -H 'Origin: https://a.example' "$O" >"$WORK/v.o1"
req -H 'X-Partner-Id: 8' -H 'Origin: https://a.example' "$O" >"$WORK/v.o2"
assert_eq "MISS HIT" "$(xcache "$WORK/v.o1") $(xcache "$WORK/v.o2")" \
    "[1 vary] Vary: Origin on a partner_id_and_origin endpoint is stored"

# --- 2. conditional requests and HEAD ------------------------------------------
E='/api/v1/public/e9?etag=%22v9%22'
req "$E" >"$WORK/e.1"
wait_key 'bocache:none:-:/api/v1/public/e9*' || fail "[2 304] no entry for $E"
before=$(backend_count)
req -H 'If-None-Match: "v9"' "$E" >"$WORK/e.2"
assert_eq 304 "$(status "$WORK/e.2")" "[2 304] If-None-Match matching the entry's ETag: 304"
assert_eq 0 "$(body "$WORK/e.2" | wc -c)" "[2 304] the 304 has no body"
assert_eq '"v9"' "$(header ETag "$WORK/e.2")" "[2 304] the 304 carries the ETag"
req -H 'If-None-Match: "x1", "v9"' "$E" >"$WORK/e.3"
assert_eq 304 "$(status "$WORK/e.3")" "[2 304] an If-None-Match list holding the ETag: 304"
req -H 'If-None-Match: W/"v9"' "$E" >"$WORK/e.3w"
assert_eq 304 "$(status "$WORK/e.3w")" "[2 304] If-None-Match W/\"v9\" (weak comparison): 304"
assert_eq "$before" "$(backend_count)" "[2 304] the 304s made no backend call"
req -H 'If-None-Match: "other"' "$E" >"$WORK/e.4"
assert_eq "200 HIT" "$(status "$WORK/e.4") $(xcache "$WORK/e.4")" \
    "[2 304] a non-matching If-None-Match: 200 HIT"
assert_eq "$(call_of "$WORK/e.1")" "$(call_of "$WORK/e.4")" \
    "[2 304] ... with the entry's body"
LM='Tue, 15 Nov 2022 08:12:31 GMT'
L='/api/v1/public/l9?lm=Tue,%2015%20Nov%202022%2008:12:31%20GMT'
req "$L" >"$WORK/l.1"
assert_eq "$LM" "$(header Last-Modified "$WORK/l.1")" "[2 304] the backend's Last-Modified is passed on"
before=$(backend_count)
req -H "If-Modified-Since: $LM" "$L" >"$WORK/l.2"
assert_eq 304 "$(status "$WORK/l.2")" "[2 304] If-Modified-Since equal to Last-Modified: 304"
assert_eq 0 "$(body "$WORK/l.2" | wc -c)" "[2 304] ... with no body"
req -H 'If-Modified-Since: Wed, 16 Nov 2022 00:00:00 GMT' "$L" >"$WORK/l.3"
assert_eq 304 "$(status "$WORK/l.3")" "[2 304] If-Modified-Since after Last-Modified: 304"
req -H 'If-Modified-Since: Mon, 14 Nov 2022 00:00:00 GMT' "$L" >"$WORK/l.4"
assert_eq "200 HIT" "$(status "$WORK/l.4") $(xcache "$WORK/l.4")" \
    "[2 304] If-Modified-Since before Last-Modified: 200 HIT"
assert_eq "$before" "$(backend_count)" "[2 304] the conditional requests made no backend call"
req -X HEAD "$E" >"$WORK/h.1"
assert_eq "200 HIT" "$(status "$WORK/h.1") $(xcache "$WORK/h.1")" "[2 HEAD] HEAD is a HIT on the GET entry"
assert_eq 0 "$(body "$WORK/h.1" | wc -c)" "[2 HEAD] HEAD has no body"
assert_eq '"v9"' "$(header ETag "$WORK/h.1")" "[2 HEAD] HEAD carries the entry's headers"
req -X HEAD -H 'If-None-Match: "v9"' "$E" >"$WORK/h.2"
assert_eq 304 "$(status "$WORK/h.2")" "[2 HEAD] HEAD with a matching If-None-Match: 304"
assert_eq "$before" "$(backend_count)" "[2 HEAD] HEAD made no backend call"
