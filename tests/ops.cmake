# tests of area ops
