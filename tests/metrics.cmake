# tests of area metrics: the registry and its Prometheus rendering, and the HTTP endpoint
find_package(Threads REQUIRED)
np_add_test(test_metrics SOURCES unit/test_metrics.c LIBS np_common Threads::Threads LABELS unit)
np_add_test(test_http SOURCES unit/test_http.c LIBS np_common Threads::Threads LABELS unit
  TIMEOUT 60)
