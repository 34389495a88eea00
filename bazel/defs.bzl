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

def test_preload_library(name, src, visibility = None):
    """lib<name>.so from SRC, a test library that tests preload into a
    process (LD_PRELOAD, or a replay worker's ARENALAB_TEST_PRELOAD).
    Built by a genrule, not a cc_* rule, so that it is never sanitized: a
    sanitizer cannot run behind a preload.  Its interposed functions have
    no prototypes of ours (-Wno-missing-prototypes)."""
    native.genrule(
        name = name,
        testonly = True,
        srcs = [src],
        outs = ["lib%s.so" % name],
        cmd = "$(CC) " + " ".join(COPTS) + " -Wno-missing-prototypes -O2 -fPIC " +
              "-fvisibility=hidden -shared $(location %s) -o $@" % src,
        toolchains = ["@bazel_tools//tools/cpp:current_cc_toolchain"],
        visibility = visibility,
    )
