static const char banner[] = "fake libpal for EnclaveKit Gramine layout tests";
int counter = 42;
char bss_area[3 * 4096 + 100];
const char* pal_banner(void) { return banner; }
void pal_start(void) { counter += (int)bss_area[0] + banner[0]; for (;;) {} }
