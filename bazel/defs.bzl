"""Compiler flags shared by every arenalab target: one constant, one place."""

COPTS = [
    "-std=c11",
    "-D_GNU_SOURCE",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wmissing-prototypes",
    "-Wshadow",
    "-Wno-unused-parameter",
]
