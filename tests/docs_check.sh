#!/usr/bin/env bash
# docs_check.sh - docs/ names only what exists, and nothing points outside the repository
#
#   tests/docs_check.sh SOURCE_DIR
#
# 1. No tracked file outside docs/ and tests/data/ cites DESIGN.md or ../shared/STYLE.md: the
#    architecture and the style are docs/ARCHITECTURE.md and docs/STYLE.md.
# 2. README.md links both.
# 3. In docs/*.md, every name in backquotes that the code should hold is found in the tree:
#    file names (.c .h .sql .cmake .sh: some tracked path ends with it), functions (`name()`:
#    "name(" appears in the code or the tests), upper-case identifiers (`NP_ARTICLE_MAX`) and
#    snake_case words (`max_inflight`, `article_duplicates`: a whole word somewhere in the
#    code, tests, scripts, config or README). A renamed function, setting or table then fails
#    here until the docs follow.
# 4. The include levels drawn in docs/ARCHITECTURE.md hold (see below).
# Prints each problem; exits 1 when there is any.
set -euo pipefail

cd "$1"
rc=0
where=(common include services tools tests scripts config CMakeLists.txt README.md)

if git grep -n -e 'DESIGN\.md' -e 'shared/STYLE\.md' -- ':!docs' ':!tests/data' ':!tests/docs_check.sh'; then
    echo "docs_check: the lines above cite a document outside the repository (use docs/)"
    rc=1
fi
for doc in docs/ARCHITECTURE.md docs/STYLE.md; do
    grep -q "$doc" README.md || { echo "docs_check: README.md does not link $doc"; rc=1; }
done

files=$(git ls-files)
quoted() { grep -oh "\`$1\`" docs/*.md | tr -d '`' | sort -u; }

while read -r f; do
    [ -n "$f" ] || continue
    case $f in .c | .h) continue ;; esac
    grep -qE "(^|/)${f//./\\.}\$" <<<"$files" || { echo "docs_check: no file $f"; rc=1; }
done < <(quoted '[A-Za-z0-9_./-]*\.\(c\|h\|sql\|cmake\|sh\)')

while read -r f; do
    [ -n "$f" ] || continue
    case $f in assert | sleep | now_ms) continue ;; esac # named as things not to use
    git grep -qE "\\b$f\\(" -- "${where[@]}" || { echo "docs_check: no function $f()"; rc=1; }
done < <(quoted '[a-z_][a-z0-9_]*()' | tr -d '()')

while read -r f; do
    [ -n "$f" ] || continue
    git grep -qw "$f" -- "${where[@]}" || { echo "docs_check: no identifier $f"; rc=1; }
done < <(quoted '[A-Z][A-Z0-9_]*'; quoted '[a-z][a-z0-9]*_[a-z0-9_]*')

# 4. The levels drawn in docs/ARCHITECTURE.md ("Layering, from the includes") hold: every module
#    of include/np/ is on a level, and includes (in its header and its common/ files) only
#    modules on lower levels. common/ and include/np/ include no service or tool header; a
#    service or tool includes only include/np/ and its own folder, except the one exception the
#    page names (tools/train: classify_model.h, classify_text.h).
declare -A level=()
# A level line: " N  mod    mod -> dep, dep    mod": the names after "->" (up to the last one
# without a comma) are that module's includes, not modules of level N.
while read -r lv rest; do
    deps=false
    for w in $rest; do
        if [ "$w" = "->" ]; then
            deps=true
        elif $deps; then
            case $w in *,) ;; *) deps=false ;; esac
        elif [ -f "include/np/$w.h" ]; then
            level[$w]=$lv
        fi
    done
done < <(grep -E '^ [0-9]  ' docs/ARCHITECTURE.md)
for h in include/np/*.h; do
    m=$(basename "$h" .h)
    if [ -z "${level[$m]:-}" ]; then
        echo "docs_check: module $m is on no level of docs/ARCHITECTURE.md"
        rc=1
        continue
    fi
    for f in "$h" common/"$m".c common/"$m"_*.c; do
        [ -f "$f" ] || continue
        while read -r inc; do
            case $inc in
                np/*.h) d=${inc#np/}; d=${d%.h} ;;
                *) echo "docs_check: $f includes \"$inc\" (common/ includes only np/ headers)"; rc=1; continue ;;
            esac
            [ "$d" = "$m" ] && continue
            if [ -z "${level[$d]:-}" ] || [ "${level[$d]}" -ge "${level[$m]}" ]; then
                echo "docs_check: $f ($m, level ${level[$m]}) includes np/$d.h (level ${level[$d]:-none})"
                rc=1
            fi
        done < <(grep -oE '^#include "[^"]+"' "$f" | sed 's/#include "//; s/"$//')
    done
done
for dir in services/* tools/*; do
    [ -d "$dir" ] || continue
    for f in "$dir"/*.[ch]; do
        while read -r inc; do
            case $inc in np/*.h) continue ;; esac
            [ -f "$dir/$inc" ] && continue
            case "$dir:$inc" in tools/train:classify_model.h | tools/train:classify_text.h) continue ;; esac
            echo "docs_check: $f includes \"$inc\", outside its folder and include/np/"
            rc=1
        done < <(grep -oE '^#include "[^"]+"' "$f" | sed 's/#include "//; s/"$//')
    done
done

[ "$rc" = 0 ] && echo "docs_check: docs/ names only what exists"
exit "$rc"
