#!/bin/sh
# possuggest-curl.sh: possuggest's basket API from a shell, with curl (7.76 or later).
#
#   possuggest-curl.sh basket SALE_ID SKU[=QTY]...   the whole basket; prints the answer (JSON)
#   possuggest-curl.sh suggestions                   what the panel shows now
#   possuggest-curl.sh accept SKU | dismiss SKU      a card shown in the sale
#   possuggest-curl.sh closed SALE_ID                the sale ended
#
# Settings from the environment: POSSUGGEST_TOKEN (required; possuggest's state.json has it as
# "api_token"), POSSUGGEST_URL (default http://127.0.0.1:8765), POSSUGGEST_REGISTER (default 1).
# Exit status: 0 answered, 22 possuggest refused the request (its JSON error is printed),
# 7 possuggest is not running, 2 a wrong command line.
set -eu

URL=${POSSUGGEST_URL:-http://127.0.0.1:8765}
REGISTER=${POSSUGGEST_REGISTER:-1}

usage() {
    sed -n '4,7p' "$0" | sed 's/^# *//' >&2
    exit 2
}

# a JSON string: backslashes and quotes escaped (control characters are refused by the API)
json() {
    printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# a path segment: every byte but A-Z a-z 0-9 . _ ~ - percent-encoded (so "/" stays in a SKU)
urlencode() {
    printf '%s' "$1" | od -An -v -tx1 | tr -s ' \n' '  ' | {
        read -r bytes || true
        out=""
        for b in $bytes; do
            case $b in
                3[0-9]|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]|2d|2e|5f|7e)
                    out="$out$(printf "\\$(printf '%03o' "0x$b")")" ;;
                *) out="$out%$b" ;;
            esac
        done
        printf '%s' "$out"
    }
}

call() {   # METHOD PATH [BODY]
    if [ -z "${POSSUGGEST_TOKEN:-}" ]; then
        echo "possuggest-curl.sh: set POSSUGGEST_TOKEN (api_token in possuggest's state.json)" >&2
        exit 2
    fi
    if [ $# -ge 3 ]; then
        curl -sS --fail-with-body --max-time 2 -X "$1" \
            -H "Authorization: Bearer $POSSUGGEST_TOKEN" -H 'Content-Type: application/json' \
            --data-binary "$3" "$URL$2"
    else
        curl -sS --fail-with-body --max-time 2 -X "$1" \
            -H "Authorization: Bearer $POSSUGGEST_TOKEN" "$URL$2"
    fi
    echo
}

[ $# -ge 1 ] || usage
command=$1
shift
case $command in
    basket)
        [ $# -ge 1 ] || usage
        sale=$1
        shift
        items=""
        for word in "$@"; do
            sku=${word%=*}
            qty=${word##*=}
            case $word in
                *=*) case $qty in ''|*[!0-9.-]*) sku=$word; qty=1 ;; esac ;;
                *) sku=$word; qty=1 ;;
            esac
            items="$items${items:+,}{\"sku\":$(json "$sku"),\"qty\":$qty}"
        done
        call POST /v1/basket "{\"register\":$(json "$REGISTER"),\"sale_id\":$(json "$sale"),\"items\":[$items]}"
        ;;
    suggestions)
        call GET "/v1/suggestions?register=$(urlencode "$REGISTER")"
        ;;
    accept|dismiss)
        [ $# -eq 1 ] || usage
        call POST "/v1/suggestions/$(urlencode "$1")/$command" "{\"register\":$(json "$REGISTER")}"
        ;;
    closed)
        [ $# -eq 1 ] || usage
        call POST "/v1/sale/$(urlencode "$1")/closed" "{\"register\":$(json "$REGISTER")}"
        ;;
    *)
        usage
        ;;
esac
