# tests of area classify
