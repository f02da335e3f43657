/* A minimal SGX enclave for EnclaveKit's example node, written for this repository.
 *
 * Layout (the Linux kernel SGX selftest loading rule, which `enclavekit sgx measure --elf` follows;
 * enclave.lds places the sections): enclave offset 0x0000 one TCS page (first PT_LOAD, exactly RW),
 * 0x1000 the code (RX), 0x2000 one data page (RW) for the SSA frame. The loader adds the heap after it.
 *
 * The entry does nothing but return: EENTER leaves the address of the instruction after EENTER in
 * RCX, and EEXIT (ENCLU leaf 4) jumps to the address in RBX.
 */

    .section .tcs, "aw"
    .balign 4096
/* Thread Control Structure (Intel SDM Vol. 3D, "Thread Control Structure (TCS)", table 34-8 / 37-8).
 * Every offset field is relative to the enclave base, which is this page (vaddr 0). */
tcs:
    .quad 0                 /*  0 STAGE (reserved, 0) */
    .quad 0                 /*  8 FLAGS: DBGOPTIN clear */
    .quad ssa               /* 16 OSSA: the SSA frames (page aligned) */
    .long 0                 /* 24 CSSA: current SSA slot, 0 on creation */
    .long 1                 /* 28 NSSA: one SSA frame (the loader's SSAFRAMESIZE is 1 page) */
    .quad enclave_entry     /* 32 OENTRY: where EENTER starts */
    .quad 0                 /* 40 AEP: written by EENTER */
    .quad 0                 /* 48 OFSBASE: FS base = the enclave base (page aligned) */
    .quad 0                 /* 56 OGSBASE: GS base = the enclave base */
    .long 0xfff             /* 64 FSLIMIT (used in 32-bit mode only) */
    .long 0xfff             /* 68 GSLIMIT */
    .fill 4096 - 72, 1, 0   /* 72..4095 reserved, must be zero */

    .text
    .balign 16
    .globl enclave_entry
enclave_entry:
    mov %rcx, %rbx          /* EEXIT target: back to the instruction after EENTER */
    mov $4, %eax            /* ENCLU leaf EEXIT */
    enclu
    ud2                     /* not reached */

    .data
    .balign 4096
ssa:
    .fill 4096, 1, 0        /* one SSA frame */

    .section .note.GNU-stack, "", @progbits
