#!/usr/bin/env bash
# Installs the build into a temporary prefix (cmake --install) and builds two programs
# against it, tests/install/separate_noise.c through pkg-config and through
# find_package(mrxcl); each loads the default model and separates a second of noise.
# Also checks the installed tree: program, library, header, mrxcl.pc, CMake package, man
# page, README and licence. Exit 77 (skipped) without an OpenCL device or default model.
# usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; echo "FAIL: cmake --install"; exit 1; }

cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
libdir=$(cache CMAKE_INSTALL_LIBDIR)
shared=$(cache BUILD_SHARED_LIBS)
sanitize=$(cache MRXCL_SANITIZE)
fail=0
need() { [ -e "$prefix/$1" ] || { echo "FAIL: $1 is not installed"; fail=1; }; }
need bin/mrxcl
need include/mrxcl.h
need "$libdir/pkgconfig/mrxcl.pc"
need "$libdir/cmake/mrxcl/mrxclConfig.cmake"
need "$libdir/cmake/mrxcl/mrxclConfigVersion.cmake"
need "$libdir/cmake/mrxcl/mrxclTargets.cmake"
need share/man/man1/mrxcl.1.gz
need share/doc/mrxcl/README.md
need share/doc/mrxcl/LICENSE
case "$shared" in
ON | on | TRUE | true | 1)
    shared=1
    need "$libdir/libmrxcl.so"
    # the soname links: libmrxcl.so -> libmrxcl.so.MAJOR.MINOR -> libmrxcl.so.VERSION
    soname=$(readelf -d "$prefix/$libdir/libmrxcl.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
    [ -L "$prefix/$libdir/libmrxcl.so" ] && [ -L "$prefix/$libdir/$soname" ] ||
        { echo "FAIL: no soname links ($soname)"; fail=1; } ;;
*)
    shared=0
    need "$libdir/libmrxcl.a" ;;
esac
# Nothing of the build or source tree may leak into what consumers read.
if grep -rl -e "$build" -e "$src/" "$prefix/$libdir/pkgconfig" "$prefix/$libdir/cmake"; then
    echo "FAIL: installed package files name the build or source tree"
    fail=1
fi
[ $fail -eq 0 ] || { find "$prefix" | sort; exit 1; }
"$prefix/bin/mrxcl" --version

# The sanitizer build's library needs its runtime in every program that links it.
cflags=()
[ "$sanitize" = ON ] && cflags=(-fsanitize=address,undefined)
cc=${CC:-cc}

# 1. pkg-config: --static for the static library, which brings the private dependencies.
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
static=--static
[ $shared -eq 1 ] && static=
echo "pkg-config --cflags --libs $static mrxcl: $(pkg-config --cflags --libs $static mrxcl)"
# shellcheck disable=SC2046
"$cc" "${cflags[@]}" -o "$tmp/pkgconfig_app" "$src/tests/install/separate_noise.c" \
    $(pkg-config --cflags --libs $static mrxcl) -lm ||
    { echo "FAIL: building against mrxcl.pc"; exit 1; }

# 2. find_package(mrxcl) -> mrxcl::mrxcl
cmake -S "$src/tests/install" -B "$tmp/app" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="${cflags[*]}" -DCMAKE_BUILD_TYPE=Release \
    >"$tmp/app.log" 2>&1 || { cat "$tmp/app.log"; echo "FAIL: find_package(mrxcl)"; exit 1; }
cmake --build "$tmp/app" >>"$tmp/app.log" 2>&1 ||
    { cat "$tmp/app.log"; echo "FAIL: building against mrxcl::mrxcl"; exit 1; }

rc=0
for app in "$tmp/pkgconfig_app" "$tmp/app/find_package_app"; do
    echo "== $(basename "$app")"
    # The shared library is found through the prefix, not the build tree.
    st=0
    LD_LIBRARY_PATH=$prefix/$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$app" || st=$?
    if [ $shared -eq 1 ] &&
        ! grep -q "$prefix/$libdir/libmrxcl.so" <<<"$(LD_LIBRARY_PATH=$prefix/$libdir ldd "$app")"; then
        echo "FAIL: $(basename "$app") does not load the installed libmrxcl.so"; st=1
    fi
    [ $st -eq 77 ] && exit 77
    [ $st -eq 0 ] || { echo "FAIL: $(basename "$app") exited $st"; rc=1; }
done
[ $rc -eq 0 ] && echo "ok: installed into a temporary prefix; both programs separated"
exit $rc
