#include <stdint.h>
struct tcs { uint64_t state, flags, ossa; uint32_t cssa, nssa; uint64_t oentry, aep, ofsbase, ogsbase; uint32_t fslimit, gslimit; uint8_t reserved[4024]; };
extern char encl_ssa[];
extern void encl_entry(void);
__attribute__((section(".tcs"), used)) struct tcs tcs0 = { .ossa = 0x3000, .nssa = 1, .oentry = 0x1000, .fslimit = 0xffffffff, .gslimit = 0xffffffff };
__attribute__((section(".tcs"), used)) struct tcs tcs1 = { .ossa = 0x4000, .nssa = 1, .oentry = 0x1000, .fslimit = 0xffffffff, .gslimit = 0xffffffff };
volatile uint64_t buffer[8192 / 8] __attribute__((section(".data.encl_buffer"))) = { 1, 2, 3 };
char encl_stack[100] __attribute__((section(".data"))) = "stack";
void encl_body(uint64_t *p) { buffer[1] = *p + 7; }
