#!/usr/bin/env python3
"""Disassembles one C2-compiled method with binutils' objdump, from a HotSpot log printed WITHOUT hsdis.

Debian bookworm's Capstone (4.0.2, what build.sh links) stops decoding partway through some AVX-512 methods without a
word, so the hsdis listing ends in the middle of the method. Without hsdis, -XX:CompileCommand=print dumps each method's
machine code as hex under [MachCode]; this script takes the last C2 (tier 4, not OSR) compile of the method named,
writes its bytes to a file and runs `objdump -D -b binary -mi386:x86-64 -M intel` on them at the method's address.

  java -XX:+UnlockDiagnosticVMOptions -XX:CompileCommand=print,org.redhare.core.matrix.NibbleBlocks::tiles2x1 \\
       -XX:CompileCommand=quiet ... org.redhare.bench.QuickMatrixRates q4_0 1024x896 1 1 > log.txt
  scripts/hsdis/objdump-machcode.py log.txt NibbleBlocks::tiles2x1 > tiles2x1.s
"""
import re
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: objdump-machcode.py LOG CLASS::METHOD")
    log, method = sys.argv[1], sys.argv[2]
    lines = open(log, encoding="utf-8", errors="replace").read().split("\n")
    starts = [i for i, l in enumerate(lines) if "Compiled method (c2)" in l and method in l and " % " not in l]
    if not starts:
        sys.exit(f"no C2 compile of {method} in {log} (run with -XX:CompileCommand=print,...{method}, without hsdis)")
    i = starts[-1]
    while i < len(lines) and "[Instructions begin]" not in lines[i] and "[MachCode]" not in lines[i]:
        i += 1
    code, base = bytearray(), None
    row = re.compile(r"\s+0x([0-9a-f]+): ((?:[0-9a-f]{4}\s*\|?\s*)+)$")
    for line in lines[i + 1:]:
        if line.startswith("[Stub Code]") or line.startswith("[Exception Handler]") or "Compiled method" in line:
            break
        m = row.match(line)
        if not m:
            continue  # relocation comments ("; {other}") and blank lines
        if base is None:
            base = int(m.group(1), 16)
        code += bytes.fromhex(m.group(2).replace("|", "").replace(" ", ""))
    if base is None:
        sys.exit(f"no [MachCode] hex for {method}: was the log printed with hsdis loaded?")
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(code)
        f.flush()
        out = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64", "-M", "intel", f"--adjust-vma={base:#x}", f.name],
                             capture_output=True, text=True, check=True)
    sys.stdout.write(out.stdout)


if __name__ == "__main__":
    main()
