# The envelope, settings, ingest's journal and dedupe set, the push tool's text reader, and the
# pipeline end to end (three real binaries and a real PostgreSQL).
np_add_test(test_msg SOURCES unit/test_msg.c LIBS np_common LABELS unit)
np_add_test(test_err SOURCES unit/test_err.c LIBS np_common LABELS unit)
np_add_test(test_article_json SOURCES unit/test_article_json.c LIBS np_common LABELS unit)
np_add_test(test_config SOURCES unit/test_config.c LIBS np_common LABELS unit)
np_add_test(test_journal SOURCES unit/test_journal.c LIBS ingest_core LABELS unit)
np_add_test(test_dedupe SOURCES unit/test_dedupe.c LIBS ingest_core LABELS unit)
np_add_test(test_push_text SOURCES unit/test_push_text.c LIBS push_core LABELS unit)
np_add_test(test_push_feed SOURCES unit/test_push_feed.c LIBS push_core LABELS unit
  ENV NP_EXAMPLES=${PROJECT_SOURCE_DIR}/examples)

np_add_test(test_pipeline SOURCES integration/test_pipeline.c
  integration/harness.c
  LIBS push_core PostgreSQL::PostgreSQL PkgConfig::ZMQ
  LABELS integration FIXTURES pg TIMEOUT 300
  ENV ${NP_PG_ENV} NP_TAXONOMY=${PROJECT_SOURCE_DIR}/config/taxonomy.json)

# RSS and Atom feeds pushed with newspipe-push's code through the three workers.
np_add_test(test_push_feeds SOURCES integration/test_push_feeds.c integration/harness.c
  LIBS push_core PostgreSQL::PostgreSQL PkgConfig::ZMQ
  LABELS integration FIXTURES pg TIMEOUT 180
  ENV ${NP_PG_ENV} NP_TAXONOMY=${PROJECT_SOURCE_DIR}/config/taxonomy.json
      NP_EXAMPLES=${PROJECT_SOURCE_DIR}/examples)

# Faults with real processes: SIGKILLed workers, PostgreSQL stopped, a refused row.
np_add_test(test_faults SOURCES integration/test_faults.c integration/harness.c
  LIBS PostgreSQL::PostgreSQL PkgConfig::ZMQ PkgConfig::JANSSON
  LABELS "integration;fault" FIXTURES pg TIMEOUT 900
  ENV ${NP_PG_ENV} NP_TAXONOMY=${PROJECT_SOURCE_DIR}/config/taxonomy.json)

# CURVE admits listed clients only; bad settings exit 2 (no database needed).
np_add_test(test_access SOURCES integration/test_access.c integration/harness.c
  LIBS np_common PostgreSQL::PostgreSQL PkgConfig::ZMQ LABELS integration TIMEOUT 120)

# README's query cookbook, run as newspipe_reader against data seeded through the pipeline.
np_add_test(test_cookbook SOURCES integration/test_cookbook.c integration/harness.c
  LIBS push_core PostgreSQL::PostgreSQL PkgConfig::ZMQ
  LABELS integration FIXTURES pg TIMEOUT 300
  ENV ${NP_PG_ENV} NP_TAXONOMY=${PROJECT_SOURCE_DIR}/config/taxonomy.json
      NP_README=${PROJECT_SOURCE_DIR}/README.md)

# /metrics, /healthz, /readyz of the real workers; readiness while PostgreSQL is stopped.
np_add_test(test_http_ops SOURCES integration/test_http_ops.c integration/harness.c
  LIBS PostgreSQL::PostgreSQL PkgConfig::ZMQ LABELS integration FIXTURES pg TIMEOUT 180
  ENV ${NP_PG_ENV} NP_TAXONOMY=${PROJECT_SOURCE_DIR}/config/taxonomy.json)

# newspipe-push resends what ingest did not answer when ingest is killed and restarted mid-file.
np_add_test(test_push_resend SOURCES integration/test_push_resend.c integration/harness.c
  LIBS PostgreSQL::PostgreSQL PkgConfig::ZMQ LABELS "integration;fault" FIXTURES pg TIMEOUT 240
  ENV ${NP_PG_ENV} NP_TAXONOMY=${PROJECT_SOURCE_DIR}/config/taxonomy.json)

# These two stop the shared test cluster for a while: nothing else may run meanwhile.
set_tests_properties(test_faults test_http_ops PROPERTIES RUN_SERIAL TRUE)

# classify reloads its taxonomy on SIGHUP and keeps the old one when the new file is bad.
np_add_test(test_reload SOURCES integration/test_reload.c integration/harness.c
  LIBS PostgreSQL::PostgreSQL PkgConfig::ZMQ LABELS integration FIXTURES pg TIMEOUT 120
  ENV ${NP_PG_ENV} NP_TAXONOMY=${PROJECT_SOURCE_DIR}/config/taxonomy.json)

# store runs as a login role in newspipe_writer after the owner migrated (as docker compose does).
np_add_test(test_writer_role SOURCES integration/test_writer_role.c integration/harness.c
  LIBS PostgreSQL::PostgreSQL PkgConfig::ZMQ LABELS integration FIXTURES pg TIMEOUT 120
  ENV ${NP_PG_ENV} NP_TAXONOMY=${PROJECT_SOURCE_DIR}/config/taxonomy.json)
