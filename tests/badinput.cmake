# Bad input on every socket that reads JSON (ingest's PULL and ROUTER) and between workers
# (garbled envelopes straight into store and classify): three real binaries, a real PostgreSQL.
np_add_test(test_badinput SOURCES integration/test_badinput.c integration/harness.c
  LIBS np_common PostgreSQL::PostgreSQL PkgConfig::ZMQ PkgConfig::JANSSON
  LABELS integration FIXTURES pg TIMEOUT 600
  ENV ${NP_PG_ENV} NP_TAXONOMY=${PROJECT_SOURCE_DIR}/config/taxonomy.json)
