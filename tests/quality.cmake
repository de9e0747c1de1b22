# quality: the default taxonomy measured with the real classifier (scripts/quality): the
# reference article's tags, and per-tag precision/recall/F1 on the Reuters-21578 training split.
# A Python script, not a C program, so it is registered directly rather than with np_add_test.
add_test(NAME taxonomy_quality
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/quality
                 --bin ${CMAKE_BINARY_DIR}/bin
                 --taxonomy ${PROJECT_SOURCE_DIR}/config/taxonomy.json)
set_tests_properties(taxonomy_quality PROPERTIES
  LABELS quality
  ENVIRONMENT "NP_SHARED_DATA=${NP_SHARED_DATA};NP_BIN_DIR=${CMAKE_BINARY_DIR}/bin"
  TIMEOUT 120)
