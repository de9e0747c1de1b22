# tests of area classify
np_add_test(test_classify_text SOURCES unit/test_classify_text.c LIBS classify_core LABELS unit)
np_add_test(test_classify_match SOURCES unit/test_classify_match.c LIBS classify_core LABELS unit)
np_add_test(test_classify_taxonomy SOURCES unit/test_classify_taxonomy.c LIBS classify_core
  LABELS unit)
np_add_test(test_classify_engine SOURCES unit/test_classify_engine.c LIBS classify_core
  LABELS unit)

# classify-bench on the shipped taxonomy and the tenfold copies it derives from it (bench/run
# prints both): a phrase the copies cannot be made from would otherwise only show up there.
add_test(NAME classify_bench_smoke
  COMMAND classify_bench --rounds 1 --synthetic-x10 --taxonomy ${PROJECT_SOURCE_DIR}/config/taxonomy.json
          ${CMAKE_CURRENT_SOURCE_DIR}/data/modern/set-a.jsonl)
set_tests_properties(classify_bench_smoke PROPERTIES LABELS unit)
