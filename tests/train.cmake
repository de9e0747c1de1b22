# tests of area train: the learned model (tools/train, services/classify/classify_model.c)
np_add_test(test_classify_model SOURCES unit/test_classify_model.c LIBS train_core LABELS unit)
