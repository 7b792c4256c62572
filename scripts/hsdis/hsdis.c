/*
 * A HotSpot disassembler plugin ("hsdis") on top of the Capstone library, so that
 * -XX:+PrintAssembly / -XX:CompileCommand=print show the machine code C2 emits for a kernel
 * (register spills, boxed vectors, unrolling). Developer tooling only: not part of RedHare.
 *
 * HotSpot looks the library up by name (hsdis-amd64.so) on the library path and calls
 * decode_instructions_virtual for each code blob; the "insn" and "/insn" events let it print
 * addresses and comments around each instruction. Written for RedHare from the interface
 * HotSpot documents in its hsdis README; build it with build.sh next to this file.
 */
#include <stdint.h>
#include <stddef.h>
#include <capstone/capstone.h>

typedef void* (*event_fn)(void* stream, const char* event, void* arg);
typedef int (*printf_fn)(void* stream, const char* format, ...);

void* decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char* buffer, uintptr_t length,
                                  event_fn event, void* event_stream, printf_fn print, void* print_stream,
                                  const char* options, int newline) {
    (void) end_va;
    (void) options;
    csh handle;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK) {
        return NULL;
    }
    cs_option(handle, CS_OPT_SYNTAX, CS_OPT_SYNTAX_INTEL);
    cs_insn* insn;
    size_t count = cs_disasm(handle, buffer, length, start_va, 0, &insn);
    uintptr_t end = start_va;
    for (size_t i = 0; i < count; i++) {
        uintptr_t at = (uintptr_t) insn[i].address;
        if (event != NULL) {
            event(event_stream, "insn", (void*) at);
        }
        print(print_stream, "%-10s %s", insn[i].mnemonic, insn[i].op_str);
        if (event != NULL) {
            event(event_stream, "/insn", (void*) (at + insn[i].size));
        }
        if (newline) {
            print(print_stream, "\n");
        }
        end = at + insn[i].size;
    }
    if (count > 0) {
        cs_free(insn, count);
    }
    cs_close(&handle);
    return (void*) end;
}
