# tests of area classify
np_add_test(test_classify_text SOURCES unit/test_classify_text.c LIBS classify_core LABELS unit)
np_add_test(test_classify_match SOURCES unit/test_classify_match.c LIBS classify_core LABELS unit)
np_add_test(test_classify_taxonomy SOURCES unit/test_classify_taxonomy.c LIBS classify_core
  LABELS unit)
np_add_test(test_classify_engine SOURCES unit/test_classify_engine.c LIBS classify_core
  LABELS unit)
