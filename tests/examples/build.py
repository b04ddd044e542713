#!/usr/bin/env python3
"""Installs kvmkit from the source tree into a private prefix, checks what
`meson install` put there, and builds examples/ against that installation
through its pkg-config file, as an embedder would.

    build.py --source SRC --work DIR native
    build.py --source SRC --work DIR arm64 --sysroot SYSROOT

native: a fresh build in DIR/lib installed into DIR/prefix; the examples
link libkvmkit.so (DIR/examples/boot-and-wait, fleet).
arm64: the static cross build installed with DESTDIR into DIR/stage (a
sysroot-like tree); the examples link libkvmkit.a statically for the nested
L1. Prints "built: PATH" for each example. Exit status 0 or 1.
"""

import argparse
import os
import subprocess
import sys

NATIVE_LIBDIR = "lib/x86_64-linux-gnu"


def run(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def setup(build, source, options, env=None):
    if os.path.isfile(os.path.join(build, "build.ninja")):
        run(["meson", "setup", "--reconfigure", build, source] + options, env=env)
    else:
        run(["meson", "setup", build, source] + options, env=env)
    run(["ninja", "-C", build], env=env)


def check_exports(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True,
                         text=True).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    stray = [n for n in names if not n.startswith("kvmkit_") and n != "KVMKIT_0.1"]
    if stray:
        raise SystemExit(f"{lib} exports more than the API: {stray[:10]}")
    print(f"ok: {lib} exports {len(names) - 1} kvmkit_* symbols and nothing else")


def check_static(archive, nm="nm"):
    out = subprocess.run([nm, "--defined-only", archive], check=True, capture_output=True,
                         text=True).stdout
    globals_ = [line.split()[-1] for line in out.splitlines()
                if len(line.split()) == 3 and line.split()[1] in "TDBRVW"]
    stray = [n for n in globals_ if not n.startswith("kvmkit_")]
    if stray:
        raise SystemExit(f"{archive} has global internal symbols: {stray[:10]}")
    print(f"ok: {archive} defines {len(globals_)} global symbols, all kvmkit_*")


def check_installed(root, prefix, libdir, shared):
    want = [
        "bin/kvmkit",
        "include/kvmkit/kvmkit.h",
        f"{libdir}/libkvmkit.a",
        f"{libdir}/pkgconfig/kvmkit.pc",
        "share/man/man1/kvmkit.1",
        "share/man/man3/libkvmkit.3",
    ]
    if shared:
        want += [f"{libdir}/libkvmkit.so", f"{libdir}/libkvmkit.so.0"]
    base = root + prefix
    missing = [w for w in want if not os.path.exists(os.path.join(base, w))]
    if missing:
        raise SystemExit(f"meson install did not install: {', '.join(missing)}")
    print(f"ok: installed {', '.join(want)}")


def native(args):
    source = os.path.abspath(args.source)
    work = os.path.abspath(args.work)
    prefix = os.path.join(work, "prefix")
    lib = os.path.join(work, "lib")
    setup(lib, source, ["--prefix", prefix, "--libdir", NATIVE_LIBDIR, "-Dtests=false",
                        "--werror"])
    run(["meson", "install", "-C", lib, "--quiet"])
    check_installed("", prefix, NATIVE_LIBDIR, shared=True)
    check_exports(os.path.join(prefix, NATIVE_LIBDIR, "libkvmkit.so"))
    check_static(os.path.join(prefix, NATIVE_LIBDIR, "libkvmkit.a"))
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, NATIVE_LIBDIR, "pkgconfig"))
    examples = os.path.join(work, "examples")
    setup(examples, os.path.join(source, "examples"), [], env=env)
    for name in ("boot-and-wait", "fleet"):
        print(f"built: {os.path.join(examples, name)}")


def arm64(args):
    source = os.path.abspath(args.source)
    work = os.path.abspath(args.work)
    sysroot = os.path.abspath(args.sysroot)
    stage = os.path.join(work, "stage")
    lib = os.path.join(work, "lib")
    cross = [os.path.join(source, "cross", "aarch64-linux-gnu.ini"),
             os.path.join(sysroot, "sysroot.ini")]
    cross_args = [a for f in cross for a in ("--cross-file", f)]
    setup(lib, source, cross_args + ["--prefix", "/usr/local", "--libdir", "lib",
                                     "-Dtests=false", "--werror"])
    run(["meson", "install", "-C", lib, "--quiet", "--destdir", stage])
    check_installed(stage, "/usr/local", "lib", shared=False)
    check_static(os.path.join(stage, "usr/local/lib/libkvmkit.a"), nm="aarch64-linux-gnu-nm")
    # The stage is the sysroot pkg-config sees: kvmkit.pc's /usr/local paths
    # resolve inside it. The libraries kvmkit needs come from the real
    # sysroot through the cross file's -L.
    stage_ini = os.path.join(work, "stage.ini")
    with open(stage_ini, "w") as f:
        f.write("[binaries]\n"
                "pkgconfig = 'pkg-config'\n"
                "[properties]\n"
                f"sys_root = '{stage}'\n"
                f"pkg_config_libdir = '{stage}/usr/local/lib/pkgconfig'\n")
    examples = os.path.join(work, "examples")
    setup(examples, os.path.join(source, "examples"),
          cross_args + ["--cross-file", stage_ini, "-Dstatic=true"])
    for name in ("boot-and-wait", "fleet"):
        print(f"built: {os.path.join(examples, name)}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--sysroot", help="arm64: the sysroot from scripts/cross-sysroot")
    p.add_argument("mode", choices=["native", "arm64"])
    args = p.parse_args()
    try:
        if args.mode == "native":
            native(args)
        else:
            if not args.sysroot:
                p.error("arm64 needs --sysroot")
            arm64(args)
    except subprocess.CalledProcessError as e:
        print(f"FAIL: {' '.join(e.cmd)} exited with {e.returncode}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
