# tests of area common
# The article model: parser and normaliser, dates, URLs, text (tests/data/articles/ holds the
# valid and invalid cases test_article walks).
np_add_test(test_article SOURCES unit/test_article.c LIBS np_common LABELS unit)
np_add_test(test_time SOURCES unit/test_time.c LIBS np_common LABELS unit)
np_add_test(test_url SOURCES unit/test_url.c LIBS np_common LABELS unit)
np_add_test(test_buf SOURCES unit/test_buf.c LIBS np_common LABELS unit)
np_add_test(test_utf8 SOURCES unit/test_utf8.c LIBS np_common LABELS unit)
np_add_test(test_text SOURCES unit/test_text.c LIBS np_common LABELS unit)
# np_json (yajl into an arena, classify's and store's per-message parser) against Jansson.
np_add_test(test_json SOURCES unit/test_json.c LIBS np_common LABELS unit)
