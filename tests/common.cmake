# tests of area common
