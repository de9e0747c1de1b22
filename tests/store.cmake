# tests of area store
find_package(Threads REQUIRED)
np_add_test(test_store SOURCES integration/test_store.c integration/harness.c
  LIBS store_core np_common PostgreSQL::PostgreSQL PkgConfig::JANSSON Threads::Threads
  LABELS integration FIXTURES pg ENV ${NP_PG_ENV} TIMEOUT 120)
np_add_test(test_store_socket SOURCES integration/test_store_socket.c integration/harness.c
  LIBS store_core np_common PostgreSQL::PostgreSQL PkgConfig::JANSSON PkgConfig::ZMQ
       Threads::Threads
  LABELS integration FIXTURES pg ENV ${NP_PG_ENV} TIMEOUT 120)
np_add_test(test_store_msg SOURCES unit/test_store_msg.c LIBS store_core np_common LABELS unit)
