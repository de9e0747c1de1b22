# tests of area ops: the deployment files (scripts/, .ci/run, Dockerfile, docker-compose.yml)
#
# compose_config       docker-compose accepts docker-compose.yml (skipped, exit 77, only when
#                      docker-compose is not installed; scripts/install-deps installs it)
# scripts_syntax       bash -n on every shell script of the repo; shellcheck (warnings and up)
#                      on them too when shellcheck is installed
# install_deps_check   scripts/install-deps --check: every package of the default set installed
# install_deps_cover   install-deps lists the packages of CMakeLists.txt's modules and of the
#                      libraries the built newspipe-* binaries link (tests/ops_deps_check.sh)
# ops_up_down          scripts/up, scripts/up again, scripts/down on the built workers
# docs_check           docs/ names only what exists; nothing cites documents outside the repo
set(NP_OPS_SOURCE ${PROJECT_SOURCE_DIR})

add_test(NAME compose_config
  COMMAND sh -c [=[
    command -v docker-compose >/dev/null 2>&1 || { echo "no docker-compose: skipped"; exit 77; }
    exec docker-compose -f "$1" config -q
  ]=] sh ${NP_OPS_SOURCE}/docker-compose.yml)
set_tests_properties(compose_config PROPERTIES LABELS unit SKIP_RETURN_CODE 77)

# The list is taken when the test runs, so a new script needs no reconfigure.
add_test(NAME scripts_syntax
  COMMAND sh -c [=[
    cd "$1" || exit 1
    rc=0
    for f in scripts/* .ci/run tests/*.sh tests/integration/*.sh; do
      [ -f "$f" ] || continue
      case "$(head -n 1 "$f")" in
        '#!'*sh*) ;;
        *) continue ;;
      esac
      bash -n "$f" || { echo "syntax error: $f"; rc=1; }
      if command -v shellcheck >/dev/null 2>&1; then
        shellcheck -S warning "$f" || rc=1
      fi
      echo "checked $f"
    done
    exit $rc
  ]=] sh ${NP_OPS_SOURCE})
set_tests_properties(scripts_syntax PROPERTIES LABELS unit)

add_test(NAME install_deps_check COMMAND bash ${NP_OPS_SOURCE}/scripts/install-deps --check)
set_tests_properties(install_deps_check PROPERTIES LABELS unit)

# install-deps lists what CMakeLists.txt finds and what the built binaries link: a package this
# machine happens to have cannot hide a gap that a fresh machine or the Docker build would hit.
add_test(NAME install_deps_cover
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/ops_deps_check.sh ${NP_OPS_SOURCE}
          ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(install_deps_cover PROPERTIES LABELS unit)

# scripts/up + scripts/down on this build's binaries, state in a temporary folder, ports 2543x
# and 2555x; skipped while a worker is a placeholder.
add_test(NAME ops_up_down
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/ops_up_down.sh ${NP_OPS_SOURCE}
          ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(ops_up_down PROPERTIES LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 240)

# README lists every setting: each variable in each binary's --help appears in README.md.
add_test(NAME readme_settings
  COMMAND sh -c [=[
    rc=0
    for b in ingest classify store push; do
      for v in $("$1/newspipe-$b" --help | grep -oE '(NP_[A-Z_]+|DATABASE_URL)'); do
        grep -q "\`$v\`" "$2" || { echo "README.md does not list $v (newspipe-$b)"; rc=1; }
      done
    done
    exit $rc
  ]=] sh ${CMAKE_BINARY_DIR}/bin ${PROJECT_SOURCE_DIR}/README.md)
set_tests_properties(readme_settings PROPERTIES LABELS unit)

# Every .c/.h file is formatted as .clang-format says (docs/STYLE.md, "Formatting"), by
# clang-format 14 where another version is the default.
add_test(NAME clang_format
  COMMAND sh -c [=[
    cf=$(command -v clang-format-14 || command -v clang-format) || { echo "no clang-format: skipped"; exit 77; }
    cd "$1" && git ls-files '*.c' '*.h' | xargs "$cf" --dry-run -Werror
  ]=] sh ${PROJECT_SOURCE_DIR})
set_tests_properties(clang_format PROPERTIES LABELS unit SKIP_RETURN_CODE 77)

# docs/ names only what exists (files, functions, identifiers, settings) and no file cites a
# design or style document outside the repository (tests/docs_check.sh).
add_test(NAME docs_check COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docs_check.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(docs_check PROPERTIES LABELS unit)
