# tests of area store
