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

[ "$rc" = 0 ] && echo "docs_check: docs/ names only what exists"
exit "$rc"
