#!/bin/bash
# it_glob.sh: bc_glob_match agrees with Redis. A few hundred awkward keys go
# into a real redis-server; for each pattern, the keys SCAN MATCH finds must
# be exactly those tests/glob_match picks from the same list.
# Backslashes and dollars in single quotes are meant literally here.
# shellcheck disable=SC1003,SC2016
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

export LC_ALL=C
GLOB_MATCH=$top_builddir/tests/glob_match
[ -x "$GLOB_MATCH" ] || skip "$GLOB_MATCH is not built (make check builds it)"

start_redis

KEYS=$WORK/keys
RESP=$WORK/keys.resp
: >"$KEYS"

add_key() {
    printf '%s\n' "$1" >>"$KEYS"
}

# Gateway-shaped keys, so the partner patterns of SPEC 5 are exercised.
for p in 1 4 2 42 142 420 4200 7 24 242; do
    for o in https%3A//w.example.com https%3A//x.example.org; do
        add_key "bocache:partner_id_and_origin:p=$p,o=$o:/api/v1/bet_insights/partner-widgets_settings/"
    done
    add_key "bocache:api_key:k=3f1c00000000000000000000000000$p:/api/v1/sports/?lang=en&page=$p"
done
for u in /api/v1/public/ /api/v1/public/x /api/v1/vary/ "/api/v1/short/?a=1&b=2"; do
    add_key "bocache:none:-:$u"
    add_key "bocache:none:-:$u:accept-language=en"
done
add_key "bocache:lease:none:-:/api/v1/public/"
add_key "other:42"

# Keys made of the metacharacters themselves.
for k in '*' '?' '[' ']' '\' '-' '^' '[]' '[a]' 'a*b' 'a?b' 'a[b]c' 'abc' \
    'a\b' 'a\\b' 'a-b' 'a^b' 'a]b' 'x]y' '^x' 'ab' 'aXbYc' 'aXcYb' 'b' \
    'a' 'z' '`' '_' 'A' 'Z' '0' '9' ' ' 'a b' 'tab	x' '%41' 'a%b' \
    '{"x":1}' "it's" 'caf'$'\xc3\xa9' $'\xe9t\xe9' $'\x7f' '!a' '*42*' \
    'a\' '\a' '[\]' 'x*' '*x' '**' 'ab*ab' 'abab' 'aba' 'aaa' 'aa'; do
    add_key "$k"
done

# Deterministic random keys over an alphabet dense in metacharacters.
RANDOM=4242
ALPHA='ab*?[]\^-x:'
for _ in $(seq 1 260); do
    len=$((1 + RANDOM % 7))
    k=""
    for _ in $(seq 1 "$len"); do
        k="$k${ALPHA:RANDOM%${#ALPHA}:1}"
    done
    add_key "$k"
done

# The nesting limit: 1000 nested stars still match, 1001 never do.
XS=$(printf 'x%.0s' $(seq 1 1001))
add_key "$XS"
add_key "${XS:1}"

sort -u -o "$KEYS" "$KEYS"
while IFS= read -r k; do
    printf '*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\n1\r\n' "${#k}" "$k"
done <"$KEYS" >"$RESP"
rcli --pipe <"$RESP" >"$WORK/pipe.out" 2>&1 ||
    fail "redis-cli --pipe: $(cat "$WORK/pipe.out")"
assert_eq "$(wc -l <"$KEYS" | tr -d ' ')" "$(rcli dbsize)" \
    "every key is loaded into Redis"

# compare PATTERN: the two sides must find the same keys.
compare() {
    local want got
    rcli --scan --pattern "$1" >"$WORK/want" || fail "redis-cli --scan '$1'"
    "$GLOB_MATCH" "$1" <"$KEYS" >"$WORK/got" || fail "glob_match '$1'"
    want=$(sort "$WORK/want")
    got=$(sort "$WORK/got")
    if [ "$want" = "$got" ]; then
        ok "pattern '${1:0:60}': $(printf '%s' "$got" | grep -c '^' || true) keys"
    else
        diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") |
            head -n 20 | sed 's/^/    /' >&8 || true
        fail "pattern '${1:0:60}': redis (<) and bc_glob_match (>) differ"
    fi
}

PATTERNS=(
    '*42*' '*p=42,*' '*p=42,o=*' 'bocache:*' 'bocache:none:*' '*:/api/v1/public/*'
    'bocache:*:/api/v1/*' '*page=?' '*page=??' '*[0-9]' '*[^0-9]' '[a-c]*'
    '[c-a]*' '[a-]*' '[a-]]*' '[]*' '[]a]' '[^]*' '[^]a]*' '[' '*[' '[ab'
    '*[ab' '[^' '[^ab' '[a-' '[\]' '[\]]*' '[\\]*' '*\*' '*\' '\' '\\'
    '*\\*' '\*' '\?' '?' '??' '???' '*?*?*?*' 'a*b*' '*a*a*' '[*?]*'
    '*[[]*' '*]*' '*^*' '[\^]*' '[-a]*' '[a\-z]' '[!a]*' '*-*' '* *'
    '*%*' 'x*' '*x' '**' '*x*x*x*' 'a?b' 'a[b]c' 'a\b' 'a\\b' '*\**'
    $'*\xe9*' $'[\xe0-\xef]*' '*{*' "*'*"
)
# Random patterns over the keys' alphabet, with more stars.
ALPHA='ab**?[]\^-x:'
for _ in $(seq 1 40); do
    len=$((1 + RANDOM % 6))
    p=""
    for _ in $(seq 1 "$len"); do
        p="$p${ALPHA:RANDOM%${#ALPHA}:1}"
    done
    PATTERNS+=("$p")
done
STARS=$(printf '*x%.0s' $(seq 1 1000))
PATTERNS+=("$STARS" "$STARS*" "*x$STARS" "*x$STARS*")

for p in "${PATTERNS[@]}"; do
    compare "$p"
done
# The 1000-star pattern matches, the 1001-star one does not (in both).
assert_eq 2 "$(rcli --scan --pattern "$STARS" | wc -l | tr -d ' ')" \
    "Redis matches 1000 nested stars (x{1000} and x{1001})"
assert_eq 0 "$(rcli --scan --pattern "*x$STARS" | wc -l | tr -d ' ')" \
    "Redis matches nothing with 1001 nested stars"
