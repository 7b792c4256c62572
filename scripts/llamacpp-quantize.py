#!/usr/bin/env python3
"""Quantizes a GGUF file with llama.cpp's own quantizer (llama_model_quantize in the libllama of the node-llama-cpp
package that scripts/compare-llamacpp.sh installs), for formats `redhare quantize` does not write, such as Q4_K_M.
A benchmark and test-file helper only; RedHare does not use llama.cpp.

    scripts/llamacpp-quantize.py IN.gguf OUT.gguf q4_k_m [threads]
"""
import ctypes
import glob
import os
import sys

# llama_ftype values (llama.h; stable across releases)
FTYPES = {"q4_0": 2, "q4_1": 3, "q8_0": 7, "q5_0": 8, "q5_1": 9, "q2_k": 10, "q3_k_m": 12, "q4_k_s": 14, "q4_k_m": 15,
          "q5_k_m": 17, "q6_k": 18, "iq4_nl": 25, "iq4_xs": 30}


def main():
    if len(sys.argv) < 4 or sys.argv[3] not in FTYPES:
        sys.exit("usage: llamacpp-quantize.py IN.gguf OUT.gguf {%s} [threads]" % ",".join(FTYPES))
    version = os.environ.get("NLC_VERSION", "3.22.1")
    cache = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    found = glob.glob(os.path.join(cache, "redhare", "node-llama-cpp-" + version, "node_modules", "@node-llama-cpp",
                                   "linux-x64", "bins", "linux-x64", "libllama*.so"))
    libs = [f for f in found if os.path.basename(f).startswith("libllama.")]
    if not libs:
        sys.exit("llama.cpp's library not found under %s: run scripts/compare-llamacpp.sh once to install it" % cache)
    d = os.path.dirname(libs[0])
    for dep in ["libggml-base.so"] + [os.path.basename(f) for f in glob.glob(os.path.join(d, "libggml.*so"))]:
        ctypes.CDLL(os.path.join(d, dep), mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(libs[0])

    class Params(ctypes.Structure):  # llama_model_quantize_params: opaque here but for its first two fields
        _fields_ = [("raw", ctypes.c_ubyte * 512)]

    lib.llama_model_quantize_default_params.restype = Params
    params = lib.llama_model_quantize_default_params()
    fields = ctypes.cast(ctypes.pointer(params), ctypes.POINTER(ctypes.c_int32))
    fields[0] = int(sys.argv[4]) if len(sys.argv) > 4 else os.cpu_count()  # nthread
    fields[1] = FTYPES[sys.argv[3]]                                          # ftype
    lib.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(Params)]
    rc = lib.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), ctypes.byref(params))
    if rc != 0:
        sys.exit("llama_model_quantize failed (%d)" % rc)


if __name__ == "__main__":
    main()
