# tests of area pipeline
