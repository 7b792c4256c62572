#!/usr/bin/env bash
# Builds target/hsdis-amd64.so (see hsdis.c) against Debian's libcapstone, unpacked locally (no root needed):
#   scripts/hsdis/build.sh
#   LD_LIBRARY_PATH=scripts/hsdis/target java -XX:+UnlockDiagnosticVMOptions \
#     -XX:CompileCommand=print,org.redhare.core.matrix.FloatTiles::tile5tokens4 ... org.redhare.bench.QuickMatrixRates bf16 4864x896 512 1
# Needs gcc and apt-get (Debian/Ubuntu) to fetch libcapstone-dev and libcapstone4. Capstone 4 stops partway through some
# AVX-512 methods; objdump-machcode.py here disassembles a log printed without hsdis instead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/target"
mkdir -p "$out/debs" "$out/root"
if [ ! -f "$out/root/usr/include/capstone/capstone.h" ]; then
    (cd "$out/debs" && apt-get download libcapstone-dev libcapstone4 >/dev/null)
    for deb in "$out"/debs/*.deb; do dpkg -x "$deb" "$out/root"; done
fi
lib="$(dirname "$(find "$out/root" -name 'libcapstone.so.*' | head -n 1)")"
gcc -O2 -shared -fPIC -I "$out/root/usr/include" "$here/hsdis.c" -o "$out/hsdis-amd64.so" \
    -L "$lib" -l:"$(basename "$(find "$lib" -name 'libcapstone.so.*' | head -n 1)")" -Wl,-rpath,"$lib"
echo "built $out/hsdis-amd64.so; run java with LD_LIBRARY_PATH=$out"
