# tests of area train: the learned model (tools/train, services/classify/classify_model.c)
np_add_test(test_classify_model SOURCES unit/test_classify_model.c LIBS train_core LABELS unit)

# A model's tags land in article_tags (classifier 'model', score, evidence); SIGHUP with a bad
# model file keeps the old one. Trains its own small model with newspipe-train.
np_add_test(test_model_pipeline SOURCES integration/test_model_pipeline.c integration/harness.c
  LIBS PostgreSQL::PostgreSQL PkgConfig::ZMQ LABELS integration FIXTURES pg TIMEOUT 120
  ENV ${NP_PG_ENV} NP_TAXONOMY=${PROJECT_SOURCE_DIR}/config/taxonomy.json)

# model_quality: trains on the Reuters-21578 training split as README says (scripts/train-eval)
# and checks the cross-validated figures against the floors of tests/model-floors.json. Skipped
# (exit 77) when ../shared/data is absent, a failure then under CI=true.
add_test(NAME model_quality
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/train-eval --no-fail
                 --bin ${CMAKE_BINARY_DIR}/bin
                 --floors ${PROJECT_SOURCE_DIR}/tests/model-floors.json)
set_tests_properties(model_quality PROPERTIES
  LABELS quality
  ENVIRONMENT "NP_SHARED_DATA=${NP_SHARED_DATA}"
  SKIP_RETURN_CODE 77
  TIMEOUT 300)
