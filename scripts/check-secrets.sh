#!/usr/bin/env bash
# Fails when a file tracked by git looks like it holds a secret. Run by
# scripts/test.sh before the tests (so in CI too); runs in about a second.
#
#   scripts/check-secrets.sh            # the files `git ls-files` lists
#
# Rules (each finding is printed as file:line: rule, with the value masked):
#   private-key     a PEM private key block (BEGIN ... PRIVATE KEY)
#   key-file        a tracked key or keystore file (*.pem, *.key, *.p12, *.pfx, *.jks, id_rsa, ...)
#   cloud-key       AWS access key ids (AKIA.../ASIA...), GitHub, Slack, Google and Stripe live tokens
#   url-credentials a URL with a password in it (scheme://user:password@host)
#   assignment      in config files (.env*, YAML, TOML, *.conf*, templates, shell,
#                   Dockerfiles): password/secret/token/key settings given a literal value
#   env-file        a committed .env file (only .env.example may be committed)
#   env-example     a value in .env.example for a password/secret/token/key setting
#
# Placeholders are not secrets: an empty value, CHANGE_ME, a variable
# reference ($X, ${X}, $(cmd)), a <placeholder>, and the usual obvious
# stand-ins of documentation (user:password@, u:p@). Secrets the tests need
# are generated at run time or are clearly fake constants in Rust test code
# (e.g. moto's "test" key pair), which the assignment rule does not scan.
#
# A reviewed exception goes into ALLOW below: "path:regex matching the line"
# and a comment saying why it is not a secret.
set -euo pipefail
cd "$(dirname "$0")/.."

ALLOW=(
    # (none yet) "path/to/file:regex of the allowed line"   # why it is not a secret
)

PLACEHOLDER='^(|CHANGE_?ME|change_?me|changeme|REPLACE_?ME|xxx+|XXX+|\*+|\.\.\.|<[^>]*>|\$.*|password|passwd|pass|pw|p|secret|token|example|dummy|fake|redacted|REDACTED)$'

findings=0
report() { # FILE LINE RULE TEXT [SECRET]
    local file=$1 line=$2 rule=$3 text=$4 secret=${5:-}
    for allowed in "${ALLOW[@]}"; do
        [ -n "$allowed" ] || continue
        if [ "${allowed%%:*}" = "$file" ] && [[ "$text" =~ ${allowed#*:} ]]; then return; fi
    done
    # Never echo the secret itself into a CI log: keep its first 4 characters.
    local masked=$text
    if [ -n "$secret" ]; then masked=${text//"$secret"/"${secret:0:4}****"}; fi
    printf '%s:%s: %s: %s\n' "$file" "$line" "$rule" "${masked:0:160}" >&2
    findings=$((findings + 1))
}

# git grep over tracked files; prints "file<TAB>line<TAB>text" for each hit.
hits() {
    git grep -nIE --full-name "$@" 2>/dev/null | sed -E 's/^([^:]*):([0-9]+):/\1\t\2\t/' || true
}

# --- private keys and key files ----------------------------------------------
while IFS=$'\t' read -r file line text; do
    report "$file" "$line" private-key "$text"
done < <(hits -e '-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----')

while IFS= read -r file; do
    report "$file" 1 key-file "a key or keystore file is tracked"
done < <(git ls-files | grep -E '(^|/)(id_(rsa|dsa|ecdsa|ed25519)(\.pub)?|[^/]+\.(pem|key|p12|pfx|jks|keystore|ppk))$' | grep -vE '\.pub$' || true)

# --- well-known token formats ------------------------------------------------
cloud_re='(AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{40,}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|(sk|rk)_live_[0-9A-Za-z]{16,}'
while IFS=$'\t' read -r file line text; do
    report "$file" "$line" cloud-key "$text" "$(printf '%s' "$text" | grep -oE "$cloud_re" | head -1)"
done < <(hits -e "(^|[^A-Za-z0-9])($cloud_re)([^A-Za-z0-9]|$)")

# --- URLs with credentials -----------------------------------------------------
url_re='[A-Za-z][A-Za-z0-9+.-]*://([A-Za-z0-9._~%!-]+):([^/[:space:]@"'"'"'`]+)@'
while IFS=$'\t' read -r file line text; do
    rest=$text
    while [[ "$rest" =~ $url_re ]]; do
        password=${BASH_REMATCH[2]}
        rest=${rest#*"${BASH_REMATCH[0]}"}
        if [[ ! "$password" =~ $PLACEHOLDER ]] && [[ ! "$password" =~ ^\{.*\}$ ]]; then
            report "$file" "$line" url-credentials "$text" "$password"
            break
        fi
    done
done < <(hits -e "$url_re")

# --- literal secrets in configuration files ------------------------------------
config_files=('.env*' '*.env' '*.yaml' '*.yml' '*.toml' '*.conf' '*.conf.*' '*.cfg' '*.ini' '*.properties'
              '*.template' '*.sh' '*.bash' 'Dockerfile*' '*.dockerfile' '*.tf' '*.tfvars' '.npmrc' '.pypirc' '.netrc')
name_re='[A-Za-z0-9_.-]*(password|passwd|pwd|secret|token|api_?key|apikey|access_?key|private_?key|credentials?)[A-Za-z0-9_]*'
assign_re="^[[:space:]]*((export|local|readonly|declare)[[:space:]]+|-[[:space:]]+)?[\"']?(${name_re})[\"']?[[:space:]]*[:=][[:space:]]*(.*)$"
while IFS=$'\t' read -r file line text; do
    shopt -s nocasematch
    if [[ "$text" =~ $assign_re ]]; then
        name=${BASH_REMATCH[3]}
        value=${BASH_REMATCH[-1]}
        shopt -u nocasematch
        # A trailing comment, then quotes, go.
        value=$(printf '%s' "$value" | sed -E 's/(^|[[:space:]]+)#.*$//; s/^[[:space:]]+|[[:space:]]+$//g; s/^"(.*)"$/\1/; s/^'"'"'(.*)'"'"'$/\1/')
        case "$name" in *_FILE|*_file|*_PATH|*_path|*_DIR|*_dir) continue ;; esac
        # A path or a YAML block/anchor is not a secret value.
        case "$value" in /*|./*|'|'|'>'|'&'*|'*'*|'{'*|'['*) continue ;; esac
        if [[ ! "$value" =~ $PLACEHOLDER ]]; then
            report "$file" "$line" assignment "$text" "$value"
        fi
    fi
    shopt -u nocasematch
done < <(hits -i -e "$assign_re" -- "${config_files[@]}")

# --- .env files ------------------------------------------------------------------
while IFS= read -r file; do
    case "${file##*/}" in
        .env.example) ;;
        *) report "$file" 1 env-file "only .env.example may be committed; keep real settings in an untracked .env" ;;
    esac
done < <(git ls-files | grep -E '(^|/)\.env($|\.)|\.env$' || true)

while IFS= read -r example; do
    lineno=0
    while IFS= read -r text || [ -n "$text" ]; do
        lineno=$((lineno + 1))
        body=${text#\#}
        body=${body# }
        [[ "$body" =~ ^([A-Z0-9_]+)=([^[:space:]]*) ]] || continue
        name=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        case "$name" in *PASSWORD*|*SECRET*|*TOKEN*|*_KEY|*_KEY_ID) ;; *) continue ;; esac
        if [[ ! "$value" =~ $PLACEHOLDER ]]; then
            report "$example" "$lineno" env-example "$text" "$value"
        fi
    done < "$example"
done < <(git ls-files | grep -E '(^|/)\.env\.example$' || true)

if [ "$findings" -gt 0 ]; then
    printf '\033[1;31m[secrets]\033[0m %d possible secret(s) in tracked files (see above). Remove them (and rotate them: git history keeps them),\n' "$findings" >&2
    printf '          or, if one is not a secret, add a reviewed exception to ALLOW in scripts/check-secrets.sh.\n' >&2
    exit 1
fi
printf '\033[1m[secrets]\033[0m no secret found in %d tracked files\n' "$(git ls-files | wc -l)" >&2
