# quality: the default taxonomy measured with the real classifier (scripts/quality): the
# reference article's tags; on the Reuters-21578 training split per-tag F1, the countries the
# story is about and the headline-only articles; on the modern set (tests/data/modern) must-recall,
# precision, tags on off-topic controls and countries. The figures must stay at or above the
# floors of tests/quality-floors.json. Skipped (exit 77) when ../shared/data is absent, a
# failure then under CI=true. A Python script, so registered directly rather than with
# np_add_test.
add_test(NAME taxonomy_quality
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/quality --quiet
                 --bin ${CMAKE_BINARY_DIR}/bin
                 --taxonomy ${PROJECT_SOURCE_DIR}/config/taxonomy.json
                 --floors ${PROJECT_SOURCE_DIR}/tests/quality-floors.json)
set_tests_properties(taxonomy_quality PROPERTIES
  LABELS quality
  ENVIRONMENT "NP_SHARED_DATA=${NP_SHARED_DATA};NP_BIN_DIR=${CMAKE_BINARY_DIR}/bin;NP_QUALITY_MODEL=0"
  SKIP_RETURN_CODE 77
  TIMEOUT 120)

# default_model: config/tagger.model, the model the default taxonomy names, is the one its
# recipe (scripts/train-default: the tuning halves of the modern set and of Reuters) trains,
# byte for byte. Skipped like taxonomy_quality when ../shared/data is absent.
add_test(NAME default_model
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/train-default --check
                 --bin ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(default_model PROPERTIES
  LABELS quality
  ENVIRONMENT "NP_SHARED_DATA=${NP_SHARED_DATA}"
  SKIP_RETURN_CODE 77
  TIMEOUT 120)
