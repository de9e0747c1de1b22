# tests of area train: the learned model (tools/train, services/classify/classify_model.c)
np_add_test(test_classify_model SOURCES unit/test_classify_model.c LIBS train_core LABELS unit)

# A model's tags land in article_tags (classifier 'model', score, evidence); SIGHUP with a bad
# model file keeps the old one. Trains its own small model with newspipe-train.
np_add_test(test_model_pipeline SOURCES integration/test_model_pipeline.c integration/harness.c
  LIBS PostgreSQL::PostgreSQL PkgConfig::ZMQ LABELS integration FIXTURES pg TIMEOUT 120
  ENV ${NP_PG_ENV} NP_TAXONOMY=${PROJECT_SOURCE_DIR}/config/taxonomy.json)
